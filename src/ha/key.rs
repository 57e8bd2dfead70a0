//! The pair's pre-shared key, read from `[ha] key_file`: at least 16 bytes
//! once whitespace is removed, and refused when group or others may read or
//! write the file (as ssh refuses such a private key).
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The shortest key accepted, in bytes.
pub const MIN_KEY_LEN: usize = 16;

/// Reads and checks the key file; errors name the file and the fix.
pub fn read_key(path: &Path) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("ha.key_file {shown}: {e}"))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "ha.key_file {shown}: permissions {mode:04o} are too open: the key must not be \
             accessible by group or others (chmod 600 {shown})"
        ));
    }
    let raw = std::fs::read(path).map_err(|e| format!("ha.key_file {shown}: {e}"))?;
    let key: Vec<u8> = raw
        .into_iter()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if key.len() < MIN_KEY_LEN {
        return Err(format!(
            "ha.key_file {shown}: the key must have at least {MIN_KEY_LEN} bytes"
        ));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_file(name: &str, mode: u32, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lvsd-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn owner_only_key_is_read_without_whitespace() {
        let p = key_file("ok.key", 0o600, "0123456789abcdef\n0123\n");
        assert_eq!(read_key(&p).unwrap(), b"0123456789abcdef0123".to_vec());
        let p = key_file("ro.key", 0o400, "0123456789abcdef");
        assert!(read_key(&p).is_ok());
    }

    #[test]
    fn group_or_other_access_is_refused_naming_the_file() {
        for (i, mode) in [0o644, 0o640, 0o604, 0o660, 0o602].into_iter().enumerate() {
            let p = key_file(&format!("open{i}.key"), mode, "0123456789abcdef");
            let e = read_key(&p).unwrap_err();
            assert!(
                e.contains(&p.display().to_string()) && e.contains("too open"),
                "{e}"
            );
        }
    }

    #[test]
    fn short_or_missing_key_is_refused() {
        let p = key_file("short.key", 0o600, "0123456789 abcde\n");
        assert!(read_key(&p).unwrap_err().contains("at least 16 bytes"));
        let e = read_key(Path::new("/nonexistent/ha.key")).unwrap_err();
        assert!(e.contains("/nonexistent/ha.key"), "{e}");
    }
}
