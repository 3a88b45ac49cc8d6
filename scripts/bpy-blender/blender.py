"""A `blender` command line backed by the `bpy` Python module (the PyPI wheel of an official
Blender build), for the subset of arguments Pictor and its tests use:

    blender --version
    blender -b [--factory-startup] [-noaudio] [-Y] [--python-exit-code N] [--threads N]
            [scene.blend] [--python FILE | --python-expr CODE] [-o PATH] [-f N] [-- args...]

Arguments are handled in order, as Blender does: a .blend is opened when it is reached, a script
runs when it is reached (after the .blend before it), `-f` renders with the settings so far.
Installed by scripts/install-bpy-blender, which puts a `blender` wrapper beside it.
"""

import os
import runpy
import sys
import traceback


def main(argv):
    if "--version" in argv or "-v" in argv:
        import bpy

        print("Blender %s" % bpy.app.version_string)
        print("\tbuild hash: %s" % bpy.app.build_hash.decode())
        print("\t(the bpy module, run by scripts/bpy-blender/blender.py)")
        return 0
    own, rest = (argv[: argv.index("--")], argv[argv.index("--"):]) if "--" in argv else (argv, [])
    import bpy

    # Every script sees Blender's argv: the arguments after `--` are its own.
    sys.argv = ["blender"] + argv
    exit_code = 0
    threads = None
    index = 0

    def apply_threads(*_):
        if threads is not None:
            for scene in bpy.data.scenes:
                scene.render.threads_mode = "FIXED"
                scene.render.threads = threads

    bpy.app.handlers.load_post.append(apply_threads)
    while index < len(own):
        arg = own[index]
        value = own[index + 1] if index + 1 < len(own) else None
        if arg in ("-b", "--background", "--factory-startup", "-noaudio"):
            pass
        elif arg in ("-Y", "--disable-autoexec"):
            bpy.context.preferences.filepaths.use_scripts_auto_execute = False
        elif arg == "--python-exit-code":
            exit_code = int(value)
            index += 1
        elif arg in ("-t", "--threads"):
            threads = int(value)
            apply_threads()
            index += 1
        elif arg in ("-P", "--python", "--python-expr"):
            index += 1
            try:
                if arg == "--python-expr":
                    exec(compile(value, "<string>", "exec"), {"__name__": "__main__"})
                else:
                    runpy.run_path(value, run_name="__main__")
            except SystemExit:
                raise
            except BaseException:
                traceback.print_exc()
                if exit_code:
                    return exit_code
        elif arg in ("-o", "--render-output"):
            bpy.context.scene.render.filepath = value
            index += 1
        elif arg in ("-f", "--render-frame"):
            scene = bpy.context.scene
            frame = int(value)
            saved = (scene.frame_start, scene.frame_end, scene.frame_step)
            scene.frame_start = scene.frame_end = frame
            scene.frame_step = 1
            bpy.ops.render.render(animation=True)
            scene.frame_start, scene.frame_end, scene.frame_step = saved
            index += 1
        elif arg.endswith(".blend") or os.path.isfile(arg):
            try:
                bpy.ops.wm.open_mainfile(filepath=os.path.abspath(arg), load_ui=False)
            except BaseException as error:
                print("Error: Cannot read file '%s': %s" % (arg, error), flush=True)
                return 1
        else:
            print("blender.py: unsupported argument %r" % arg, file=sys.stderr)
            return 2
        index += 1
    del rest
    return 0


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # The bpy module can crash in the interpreter's teardown (measured: a segfault after
    # save_as_mainfile); everything is written by now, so leave without it, as Blender's own exit.
    os._exit(code)
