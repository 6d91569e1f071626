//! Atomic file writes: the bytes go to a temporary file in the destination's folder, are
//! synced to disk, and the temporary file is renamed onto the destination (and the folder
//! synced), so a reader, or a run killed half-way, sees the old file or the new one, never a
//! truncated one. Models, checkpoints, predictions, reports and pictures are written this
//! way; the function is re-exported at the crate root as [`crate::write_atomic`].
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("report.md");
//! bp_par::write_atomic(&path, b"# Report\n").unwrap();
//! assert_eq!(std::fs::read(&path).unwrap(), b"# Report\n");
//! ```

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: temporary file beside it, fsync, rename, fsync of
/// the folder.
///
/// A path that names a device or a pipe (`/dev/null`, `/dev/stdout`) is written to
/// directly, never replaced; a symbolic link is followed and its target replaced. A new
/// file gets mode 0644, a replaced one keeps its mode.
///
/// # Errors
/// [`Error::Io`] naming `path` when the temporary file cannot be created, written or synced,
/// or cannot be renamed onto `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
        && !meta.is_dir()
    {
        let mut f =
            std::fs::OpenOptions::new().write(true).open(path).map_err(|e| Error::io(path, "write", e))?;
        return f.write_all(bytes).map_err(|e| Error::io(path, "write", e));
    }
    let resolved;
    let path = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            resolved.as_path()
        }
        _ => path,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| {
        Error::io(
            path,
            "write (creating a temporary file in its folder failed)",
            std::io::Error::from(e.kind()),
        )
    })?;
    // tempfile creates 0600; give the result the usual 0644 (or the old file's mode).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o777);
        let _ = tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode));
    }
    tmp.write_all(bytes).map_err(|e| Error::io(path, "write", e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, "sync", e))?;
    tmp.persist(path).map_err(|e| Error::io(path, "rename the temporary file onto", e.error))?;
    // Make the rename itself durable.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_a_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["out.txt"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        }
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no").join("out.txt");
        let err = write_atomic(&path, b"x").unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}: cannot write", path.display())), "{err}");
    }

    #[test]
    fn writes_through_devices_and_symlinks_instead_of_replacing_them() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.bin");
        std::fs::write(&target, b"old").unwrap();
        #[cfg(unix)]
        {
            let link = dir.path().join("link.bin");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            write_atomic(&link, b"new").unwrap();
            assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
            assert_eq!(std::fs::read(&target).unwrap(), b"new");
            write_atomic(Path::new("/dev/null"), b"discarded").unwrap();
            assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
        }
    }
}
