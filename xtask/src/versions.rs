//! Versions, requirements and lock files, as the dependency checks read them.

/// A version as `MAJOR.MINOR.PATCH`, compared numerically (pre-release suffixes are dropped).
pub(crate) type Version = (u64, u64, u64);

/// `1.2.3`.
pub(crate) fn show((major, minor, patch): Version) -> String {
    format!("{major}.{minor}.{patch}")
}

/// The lowest version a requirement such as `^0.22`, `1.0.19`, `~1.2` or `>=1.5, <2` allows;
/// also reads a plain version (`0.25.20+spec-1.1.0`). `None` for a requirement without a lower
/// bound (`*`) or one it cannot read.
pub(crate) fn requirement_minimum(requirement: &str) -> Option<Version> {
    let lower = requirement
        .split(',')
        .map(str::trim)
        .find(|part| !part.starts_with('<'))?
        .trim_start_matches(['^', '=', '~', '>'])
        .trim();
    let mut parts = lower.split('.').map(|part| part.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().unwrap_or(Some(0))?;
    // A pre-release or build suffix (`1.0.0-rc.1`) is read as its release.
    let patch = lower
        .split('.')
        .nth(2)
        .map_or(Some(0), |patch| patch.split(['-', '+']).next().and_then(|number| number.parse::<u64>().ok()))?;
    Some((major, minor, patch))
}

/// Whether two versions are semver-compatible as cargo decides it (the same major, the same
/// minor for 0.x, the same patch for 0.0.x).
pub(crate) fn compatible(a: Version, b: Version) -> bool {
    match (a, b) {
        ((0, 0, a_patch), (0, 0, b_patch)) => a_patch == b_patch,
        ((0, a_minor, _), (0, b_minor, _)) => a_minor == b_minor,
        ((a_major, ..), (b_major, ..)) => a_major == b_major,
    }
}

/// One `[[package]]` of a `Cargo.lock`.
#[derive(Debug, PartialEq)]
pub(crate) struct LockedPackage {
    pub(crate) name: String,
    pub(crate) version: String,
    /// From a registry (it has a `source`), not a path.
    pub(crate) from_registry: bool,
}

/// The packages of a lock file; none when it does not parse.
pub(crate) fn locked_packages(lock: &str) -> Vec<LockedPackage> {
    let Ok(document) = lock.parse::<toml_edit::DocumentMut>() else { return Vec::new() };
    let Some(packages) = document.get("package").and_then(|item| item.as_array_of_tables()) else {
        return Vec::new();
    };
    packages
        .iter()
        .filter_map(|package| {
            Some(LockedPackage {
                name: package.get("name")?.as_str()?.to_owned(),
                version: package.get("version")?.as_str()?.to_owned(),
                from_registry: package.contains_key("source"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{LockedPackage, compatible, locked_packages, requirement_minimum};

    #[test]
    fn the_lower_bound_of_a_requirement() {
        assert_eq!(requirement_minimum("^0.22"), Some((0, 22, 0)));
        assert_eq!(requirement_minimum("^1"), Some((1, 0, 0)));
        assert_eq!(requirement_minimum("^0.10.19"), Some((0, 10, 19)));
        assert_eq!(requirement_minimum("=1.2.3"), Some((1, 2, 3)));
        assert_eq!(requirement_minimum("~1.2"), Some((1, 2, 0)));
        assert_eq!(requirement_minimum(">=1.5, <2"), Some((1, 5, 0)));
        assert_eq!(requirement_minimum("<2, >=1.5"), Some((1, 5, 0)));
        assert_eq!(requirement_minimum("^1.0.0-rc.1"), Some((1, 0, 0)));
        assert_eq!(requirement_minimum("0.25.20+spec-1.1.0"), Some((0, 25, 20)));
        assert_eq!(requirement_minimum("*"), None);
        assert_eq!(requirement_minimum("x.y"), None);
    }

    #[test]
    fn compatibility_as_cargo_decides_it() {
        assert!(compatible((0, 22, 1), (0, 22, 0)));
        assert!(!compatible((0, 23, 1), (0, 22, 0)));
        assert!(compatible((1, 47, 1), (1, 0, 0)));
        assert!(!compatible((2, 0, 0), (1, 0, 0)));
        assert!(!compatible((0, 0, 2), (0, 0, 1)));
    }

    #[test]
    fn the_packages_of_a_lock_file() {
        let lock = "version = 4\n\n[[package]]\nname = \"dlt-a\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"url\"\nversion = \"2.5.9\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
        assert_eq!(
            locked_packages(lock),
            [
                LockedPackage { name: "dlt-a".into(), version: "0.1.0".into(), from_registry: false },
                LockedPackage { name: "url".into(), version: "2.5.9".into(), from_registry: true },
            ]
        );
        assert_eq!(locked_packages("not a lock file ["), []);
    }
}
