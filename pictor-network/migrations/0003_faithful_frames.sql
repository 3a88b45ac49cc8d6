-- Frames Blender wrote with the scene's own settings keep the file name the scene gives them
-- (`shot_0001.png`); NULL for frames Pictor encodes (downloaded as `frame_NNNN.<ext>`).
ALTER TABLE frames ADD COLUMN name TEXT;
