//! Durable file writes, the one definition every tool uses (the prover's SRS and key cache, the
//! escape client's progress and snapshots): the bytes go to a temporary file beside the target,
//! are flushed and synced to disk, and the file is renamed over the target, whose directory is
//! synced too. A reader sees the old file or the new one, never a truncated one, even when the
//! writer is killed or the machine loses power; two writers (threads or processes) never share a
//! temporary file.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A temporary path beside `path`, unique to this process and call.
fn temporary(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp{}-{n}", std::process::id()));
    path.with_file_name(name)
}

/// Writes `path` through `f`, atomically and durably (see the crate's documentation); creates the
/// parent directory when missing. On error the temporary file is removed and the target is as it
/// was.
pub fn write_with(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let tmp = temporary(path);
    let written = (|| {
        let mut w = BufWriter::new(File::create(&tmp)?);
        f(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
        return written;
    }
    // The rename itself is durable once the directory is synced (not every platform can open a
    // directory: there, the rename is as durable as the file system makes it).
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically and durably.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
    write_with(path, |w| w.write_all(bytes.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("durable-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn writes_replace_the_file_and_leave_no_temporary() -> std::io::Result<()> {
        let d = dir("replace");
        let p = d.join("sub/file.json");
        write(&p, b"one")?;
        write(&p, b"two")?;
        assert_eq!(fs::read(&p)?, b"two");
        assert_eq!(fs::read_dir(p.parent().unwrap_or(&d))?.count(), 1);
        fs::remove_dir_all(&d)
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() -> std::io::Result<()> {
        let d = dir("fail");
        let p = d.join("file");
        write(&p, b"old")?;
        let err = write_with(&p, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("killed"))
        });
        assert!(err.is_err());
        assert_eq!(fs::read(&p)?, b"old");
        assert_eq!(
            fs::read_dir(&d)?.count(),
            1,
            "the temporary file is removed"
        );
        fs::remove_dir_all(&d)
    }

    #[test]
    fn concurrent_writers_never_share_a_temporary_file() -> std::io::Result<()> {
        let d = dir("race");
        let p = d.join("file");
        std::thread::scope(|s| {
            for i in 0..8u8 {
                let p = &p;
                s.spawn(move || write(p, vec![i; 100_000]));
            }
        });
        let bytes = fs::read(&p)?;
        assert_eq!(bytes.len(), 100_000);
        assert!(
            bytes.iter().all(|b| *b == bytes[0]),
            "one writer's bytes, whole"
        );
        fs::remove_dir_all(&d)
    }
}
