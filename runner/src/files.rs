//! Writing the files a run leaves behind (results.json, JUnit, TAP, the
//! HTML page, goldens written by `bless`) so that a failure never leaves a
//! half-written or empty file in place of a good one, and telling a full
//! disk apart from a crashed guest.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: into a temporary file in the same
/// directory (created with `tempfile`, mode 0600 widened to 0644 like a
/// plain write), flushed to disk, then renamed over `path`. On any error
/// the temporary file is removed and `path` keeps its old content (or stays
/// absent).
///
/// # Errors
/// The error of the step that failed, with the path; [`is_disk_full`]
/// tells whether it was a full disk.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new().prefix(".gicv-").suffix(".tmp").tempfile_in(dir)?;
    // Through the `File`: NamedTempFile's own `Write` would add the
    // temporary path to the error, which the user never asked for.
    tmp.as_file_mut().write_all(bytes)?;
    // A full disk may only show when the data reaches it.
    tmp.as_file().sync_all()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// As [`write_atomic`], the error as text naming `path` and, when the disk
/// is full, saying so.
///
/// # Errors
/// `path: the error`, or `path: the disk is full (…)`.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_atomic(path, bytes).map_err(|e| describe(path, &e))
}

/// `path: e`, with "the disk is full" when it is.
pub fn describe(path: &Path, e: &std::io::Error) -> String {
    if is_disk_full(e) {
        format!("{}: the disk is full ({e})", path.display())
    } else {
        format!("{}: {e}", path.display())
    }
}

/// Whether `e` is "no space left on device" or "disk quota exceeded".
pub fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
        || e.kind() == std::io::ErrorKind::QuotaExceeded
        || matches!(e.raw_os_error(), Some(code) if code == nix::libc::ENOSPC || code == nix::libc::EDQUOT)
}

/// Whether the file system of `dir` is full now: a 4 KiB probe file is
/// written there, flushed and removed. `Some(error)` when it is full.
/// Used when a run's output ends early, to report a full disk as such
/// rather than as a crashed guest.
pub fn disk_full_at(dir: &Path) -> Option<std::io::Error> {
    let probe = || -> std::io::Result<()> {
        let mut f = tempfile::Builder::new().prefix(".gicv-space-").tempfile_in(dir)?;
        f.as_file_mut().write_all(&[0u8; 4096])?;
        f.as_file().sync_all()
    };
    probe().err().filter(is_disk_full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("results.json");
        write_atomic(&p, b"old").unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["results.json"]);
        assert!(disk_full_at(dir.path()).is_none());
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-dir").join("x");
        let e = write(&p, b"new").unwrap_err();
        assert!(e.contains("missing-dir/x: "), "{e}");
        assert!(!p.exists());
    }

    #[test]
    fn a_full_disk_is_recognised() {
        assert!(is_disk_full(&std::io::Error::from_raw_os_error(nix::libc::ENOSPC)));
        assert!(is_disk_full(&std::io::Error::from_raw_os_error(nix::libc::EDQUOT)));
        assert!(!is_disk_full(&std::io::Error::from_raw_os_error(nix::libc::EACCES)));
        let e = describe(Path::new("r.json"), &std::io::Error::from_raw_os_error(nix::libc::ENOSPC));
        assert!(e.starts_with("r.json: the disk is full ("), "{e}");
    }
}
