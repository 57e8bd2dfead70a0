//! `[children]`: settings of the child processes lvsd starts (notify and
//! quorum commands, exec checks, HA notify and track commands).
use super::ctx::Ctx;
use super::raw::RawChildren;

/// The user child processes run as: resolved when the file is loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunAs {
    /// The name in the file.
    pub user: String,
    pub uid: u32,
    /// The user's primary group.
    pub gid: u32,
}

/// A validated `[children]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Children {
    /// `None`: children run as lvsd's own user.
    pub run_as: Option<RunAs>,
}

pub(super) fn validate(cx: &mut Ctx, r: &RawChildren) -> Children {
    let Some(user) = r.run_as.as_deref() else {
        return Children::default();
    };
    let run_as = match nix::unistd::User::from_name(user) {
        Ok(Some(u)) => Some(RunAs {
            user: user.to_string(),
            uid: u.uid.as_raw(),
            gid: u.gid.as_raw(),
        }),
        Ok(None) => {
            cx.err(
                "children.run_as",
                format!("unknown user '{user}': expected a user name from the system's user database, such as \"nobody\""),
            );
            None
        }
        Err(e) => {
            cx.err(
                "children.run_as",
                format!("user '{user}' could not be looked up: {e}"),
            );
            None
        }
    };
    Children { run_as }
}

#[cfg(test)]
mod tests {
    use crate::config::load;
    use crate::config::tests::{check, BASE};

    #[test]
    fn run_as_resolves_the_user_at_load() {
        let m = load(&format!("{BASE}\n[children]\nrun_as = \"nobody\"\n"))
            .unwrap_or_else(|e| panic!("{e}"));
        let u = nix::unistd::User::from_name("nobody").unwrap().unwrap();
        let r = m.children.run_as.expect("run_as");
        assert_eq!(
            (r.user.as_str(), r.uid, r.gid),
            ("nobody", u.uid.as_raw(), u.gid.as_raw())
        );
        assert_eq!(load(BASE).unwrap().children.run_as, None);
    }

    #[test]
    fn an_unknown_user_is_an_error_naming_the_key() {
        let text = format!("{BASE}\n[children]\nrun_as = \"no-such-user-lvsd\"\n");
        check(
            &text,
            "children.run_as",
            "run_as",
            "unknown user 'no-such-user-lvsd'",
        );
        let text = format!("{BASE}\n[children]\nrun_as = 0\n");
        check(&text, "children.run_as", "run_as", "invalid type");
    }
}
