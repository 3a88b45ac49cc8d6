//! A ZIP archive written as a stream: each file is stored (frames are PNG, EXR or JPEG, already
//! compressed) and copied through once, its CRC-32 computed on the way and written after it in a
//! data descriptor, so the archive of a 2,000-frame job is never built in memory or on disk.
//! Entries and archives past 4 GiB or 65,535 files use ZIP64 records.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bit 3: CRC and sizes follow the data in a descriptor. Bit 11: names are UTF-8.
const FLAGS: u16 = (1 << 3) | (1 << 11);
/// "Made by" Unix (high byte 3), spec version 4.5 (ZIP64).
const VERSION_MADE_BY: u16 = (3 << 8) | 45;
const VERSION_ZIP64: u16 = 45;
const VERSION_PLAIN: u16 = 20;
/// Files are regular and readable by all (`-rw-r--r--`), in the Unix high half.
const EXTERNAL_ATTRIBUTES: u32 = 0o100_644 << 16;

/// A time as MS-DOS stores it in an archive: (time, date).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DosTime {
    time: u16,
    date: u16,
}

impl DosTime {
    /// The DOS form of a Unix time in seconds (UTC); times before 1980 are 1980-01-01.
    pub fn from_unix_secs(secs: u64) -> Self {
        let days = secs / 86_400;
        let of_day = secs % 86_400;
        let (year, month, day) = crate::calendar::civil_from_days(days);
        if year < 1980 {
            return DosTime {
                time: 0,
                date: (1 << 5) | 1,
            };
        }
        let year = u16::try_from((year - 1980).min(127)).unwrap_or(127);
        let hours = (of_day / 3600) as u16;
        let minutes = ((of_day % 3600) / 60) as u16;
        let halves = ((of_day % 60) / 2) as u16;
        DosTime {
            time: (hours << 11) | (minutes << 5) | halves,
            date: (year << 9) | ((month as u16) << 5) | day as u16,
        }
    }
}

/// What the central directory needs of a written entry.
struct Written {
    name: String,
    crc: u32,
    size: u64,
    offset: u64,
    zip64: bool,
}

/// Writes a ZIP archive to `out` one entry at a time; [`ZipStream::finish`] writes the central
/// directory. Nothing but the directory's entries (names, sizes, CRCs) is kept in memory.
pub struct ZipStream<W> {
    out: W,
    modified: DosTime,
    written: Vec<Written>,
    position: u64,
    /// Sizes and offsets at or past this use ZIP64 records (`u32::MAX` in real archives; lower in
    /// tests, to exercise them without writing 4 GiB).
    zip64_from: u64,
}

impl<W: AsyncWrite + Unpin> ZipStream<W> {
    /// An archive whose entries all carry `modified` as their time.
    pub fn new(out: W, modified: DosTime) -> Self {
        ZipStream {
            out,
            modified,
            written: Vec::new(),
            position: 0,
            zip64_from: u64::from(u32::MAX),
        }
    }

    #[cfg(test)]
    fn with_zip64_from(mut self, threshold: u64) -> Self {
        self.zip64_from = threshold;
        self
    }

    async fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes).await?;
        self.position += bytes.len() as u64;
        Ok(())
    }

    /// Adds the file `name` of `size` bytes read from `content`; fails when `content` ends early
    /// or holds more than `size` bytes (the archive is then unusable: stop writing it).
    pub async fn add(
        &mut self,
        name: &str,
        size: u64,
        content: &mut (impl AsyncRead + Unpin),
    ) -> std::io::Result<()> {
        let offset = self.position;
        let zip64 = size >= self.zip64_from || offset >= self.zip64_from;
        let header = local_header(name, self.modified, zip64);
        self.put(&header).await?;
        let mut crc = crc32fast::Hasher::new();
        let mut copied = 0u64;
        let mut buffer = vec![0u8; 64 << 10];
        loop {
            let read = content.read(&mut buffer).await?;
            if read == 0 {
                break;
            }
            copied += read as u64;
            if copied > size {
                return Err(std::io::Error::other(format!(
                    "{name} holds more than its {size} bytes"
                )));
            }
            crc.update(&buffer[..read]);
            self.put(&buffer[..read]).await?;
        }
        if copied != size {
            return Err(std::io::Error::other(format!(
                "{name} ended after {copied} of its {size} bytes"
            )));
        }
        let crc = crc.finalize();
        let mut descriptor = Vec::with_capacity(24);
        descriptor.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
        descriptor.extend_from_slice(&crc.to_le_bytes());
        if zip64 {
            descriptor.extend_from_slice(&size.to_le_bytes());
            descriptor.extend_from_slice(&size.to_le_bytes());
        } else {
            descriptor.extend_from_slice(&(size as u32).to_le_bytes());
            descriptor.extend_from_slice(&(size as u32).to_le_bytes());
        }
        self.put(&descriptor).await?;
        self.written.push(Written {
            name: name.to_string(),
            crc,
            size,
            offset,
            zip64,
        });
        Ok(())
    }

    /// Writes the central directory and the end records, flushes, and answers the writer.
    pub async fn finish(mut self) -> std::io::Result<W> {
        let directory_start = self.position;
        let entries = std::mem::take(&mut self.written);
        for entry in &entries {
            let record = directory_header(entry, self.modified, self.zip64_from);
            self.put(&record).await?;
        }
        let directory_size = self.position - directory_start;
        let count = entries.len() as u64;
        let needs_zip64 = count >= 0xFFFF
            || directory_start >= self.zip64_from
            || directory_size >= self.zip64_from;
        if needs_zip64 {
            let record_at = self.position;
            let mut record = Vec::with_capacity(56 + 20);
            record.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
            record.extend_from_slice(&44u64.to_le_bytes());
            record.extend_from_slice(&VERSION_MADE_BY.to_le_bytes());
            record.extend_from_slice(&VERSION_ZIP64.to_le_bytes());
            record.extend_from_slice(&0u32.to_le_bytes());
            record.extend_from_slice(&0u32.to_le_bytes());
            record.extend_from_slice(&count.to_le_bytes());
            record.extend_from_slice(&count.to_le_bytes());
            record.extend_from_slice(&directory_size.to_le_bytes());
            record.extend_from_slice(&directory_start.to_le_bytes());
            // The ZIP64 end locator.
            record.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
            record.extend_from_slice(&0u32.to_le_bytes());
            record.extend_from_slice(&record_at.to_le_bytes());
            record.extend_from_slice(&1u32.to_le_bytes());
            self.put(&record).await?;
        }
        let clamp16 = |value: u64| if needs_zip64 { 0xFFFF } else { value as u16 };
        let clamp32 = |value: u64| {
            if needs_zip64 { u32::MAX } else { value as u32 }
        };
        let mut end = Vec::with_capacity(22);
        end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes());
        end.extend_from_slice(&clamp16(count).to_le_bytes());
        end.extend_from_slice(&clamp16(count).to_le_bytes());
        end.extend_from_slice(&clamp32(directory_size).to_le_bytes());
        end.extend_from_slice(&clamp32(directory_start).to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes());
        self.put(&end).await?;
        self.out.flush().await?;
        Ok(self.out)
    }
}

/// The local header of a stored entry whose CRC and sizes follow in a descriptor.
fn local_header(name: &str, modified: DosTime, zip64: bool) -> Vec<u8> {
    let mut header = Vec::with_capacity(30 + name.len() + 20);
    header.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    header.extend_from_slice(&(if zip64 { VERSION_ZIP64 } else { VERSION_PLAIN }).to_le_bytes());
    header.extend_from_slice(&FLAGS.to_le_bytes());
    header.extend_from_slice(&0u16.to_le_bytes()); // stored
    header.extend_from_slice(&modified.time.to_le_bytes());
    header.extend_from_slice(&modified.date.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes()); // CRC: in the descriptor
    let size_field = if zip64 { u32::MAX } else { 0 };
    header.extend_from_slice(&size_field.to_le_bytes());
    header.extend_from_slice(&size_field.to_le_bytes());
    header.extend_from_slice(&(name.len() as u16).to_le_bytes());
    header.extend_from_slice(&(if zip64 { 20u16 } else { 0 }).to_le_bytes());
    header.extend_from_slice(name.as_bytes());
    if zip64 {
        header.extend_from_slice(&1u16.to_le_bytes());
        header.extend_from_slice(&16u16.to_le_bytes());
        header.extend_from_slice(&0u64.to_le_bytes());
        header.extend_from_slice(&0u64.to_le_bytes());
    }
    header
}

/// An entry's record in the central directory.
fn directory_header(entry: &Written, modified: DosTime, zip64_from: u64) -> Vec<u8> {
    let big_size = entry.size >= zip64_from;
    let big_offset = entry.offset >= zip64_from;
    let mut extra = Vec::new();
    if big_size {
        extra.extend_from_slice(&entry.size.to_le_bytes());
        extra.extend_from_slice(&entry.size.to_le_bytes());
    }
    if big_offset {
        extra.extend_from_slice(&entry.offset.to_le_bytes());
    }
    let mut record = Vec::with_capacity(46 + entry.name.len() + 4 + extra.len());
    record.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    record.extend_from_slice(&VERSION_MADE_BY.to_le_bytes());
    let needed = if entry.zip64 {
        VERSION_ZIP64
    } else {
        VERSION_PLAIN
    };
    record.extend_from_slice(&needed.to_le_bytes());
    record.extend_from_slice(&FLAGS.to_le_bytes());
    record.extend_from_slice(&0u16.to_le_bytes());
    record.extend_from_slice(&modified.time.to_le_bytes());
    record.extend_from_slice(&modified.date.to_le_bytes());
    record.extend_from_slice(&entry.crc.to_le_bytes());
    let size = if big_size {
        u32::MAX
    } else {
        entry.size as u32
    };
    record.extend_from_slice(&size.to_le_bytes());
    record.extend_from_slice(&size.to_le_bytes());
    record.extend_from_slice(&(entry.name.len() as u16).to_le_bytes());
    let extra_len = if extra.is_empty() { 0 } else { 4 + extra.len() };
    record.extend_from_slice(&(extra_len as u16).to_le_bytes());
    record.extend_from_slice(&0u16.to_le_bytes()); // comment
    record.extend_from_slice(&0u16.to_le_bytes()); // disk
    record.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
    record.extend_from_slice(&EXTERNAL_ATTRIBUTES.to_le_bytes());
    let offset = if big_offset {
        u32::MAX
    } else {
        entry.offset as u32
    };
    record.extend_from_slice(&offset.to_le_bytes());
    record.extend_from_slice(entry.name.as_bytes());
    if !extra.is_empty() {
        record.extend_from_slice(&1u16.to_le_bytes());
        record.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        record.extend_from_slice(&extra);
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos_times_are_civil_dates() {
        // 2026-12-05 22:47:06 UTC.
        let time = DosTime::from_unix_secs(1_796_510_826);
        assert_eq!(time.date >> 9, 2026 - 1980);
        assert_eq!((time.date >> 5) & 0xF, 12);
        assert_eq!(time.date & 0x1F, 5);
        assert_eq!(time.time >> 11, 22);
        assert_eq!((time.time >> 5) & 0x3F, 47);
        assert_eq!(time.time & 0x1F, 3);
        assert_eq!(DosTime::from_unix_secs(0).date, (1 << 5) | 1);
    }

    async fn archive(files: &[(&str, Vec<u8>)], zip64_from: Option<u64>) -> Vec<u8> {
        let mut zip = ZipStream::new(Vec::new(), DosTime::from_unix_secs(1_796_510_826));
        if let Some(threshold) = zip64_from {
            zip = zip.with_zip64_from(threshold);
        }
        for (name, content) in files {
            zip.add(name, content.len() as u64, &mut content.as_slice())
                .await
                .expect("add");
        }
        zip.finish().await.expect("finish")
    }

    /// Python's `zipfile` reads the archive back, checks every CRC and prints name, size and a
    /// hash of each file; `None` when there is no Python here.
    fn read_with_python(archive: &[u8]) -> Option<String> {
        let dir = tempfile::tempdir().ok()?;
        let path = dir.path().join("frames.zip");
        std::fs::write(&path, archive).ok()?;
        let script = "import sys, zipfile, hashlib\n\
            z = zipfile.ZipFile(sys.argv[1])\n\
            assert z.testzip() is None\n\
            for i in z.infolist():\n    \
                print(i.filename, i.file_size, hashlib.sha256(z.read(i)).hexdigest()[:12])\n";
        let output = std::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&path)
            .output()
            .ok()?;
        assert!(
            output.status.success(),
            "python could not read the archive: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).ok()
    }

    fn expected_listing(files: &[(&str, Vec<u8>)]) -> String {
        use std::fmt::Write;
        files
            .iter()
            .fold(String::new(), |mut out, (name, content)| {
                let digest = sha256_prefix(content);
                let _ = writeln!(out, "{name} {} {digest}", content.len());
                out
            })
    }

    fn sha256_prefix(content: &[u8]) -> String {
        let output = std::process::Command::new("python3")
            .arg("-c")
            .arg("import sys, hashlib; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:12])")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().map(|mut stdin| stdin.write_all(content));
                child.wait_with_output()
            })
            .expect("python3");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn files() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            (
                "frame_0001.png",
                (0..70_000u32).map(|i| (i % 251) as u8).collect(),
            ),
            ("empty.txt", Vec::new()),
            ("främe_0002.exr", vec![9u8; 131_073]),
        ]
    }

    #[tokio::test]
    async fn archives_read_back_byte_for_byte() {
        let files = files();
        let Some(listing) = read_with_python(&archive(&files, None).await) else {
            eprintln!("skipped: no python3 to read the archive back");
            return;
        };
        assert_eq!(listing, expected_listing(&files));
    }

    #[tokio::test]
    async fn zip64_records_read_back_too() {
        // Every size and offset past 1,000 bytes is written the ZIP64 way.
        let files = files();
        let Some(listing) = read_with_python(&archive(&files, Some(1_000)).await) else {
            eprintln!("skipped: no python3 to read the archive back");
            return;
        };
        assert_eq!(listing, expected_listing(&files));
    }

    #[tokio::test]
    async fn content_of_the_wrong_size_is_refused() {
        let mut zip = ZipStream::new(Vec::new(), DosTime::from_unix_secs(0));
        let short = zip.add("a", 10, &mut &b"12345"[..]).await;
        assert!(short.is_err_and(|e| e.to_string().contains("ended after 5")));
        let mut zip = ZipStream::new(Vec::new(), DosTime::from_unix_secs(0));
        let long = zip.add("b", 2, &mut &b"12345"[..]).await;
        assert!(long.is_err_and(|e| e.to_string().contains("more than its 2")));
    }
}
