//! `Windows.Security.Credentials.PasswordCredential`: resource, user name, password.

use crate::winrt::socket::c_text;
use std::ffi::CString;

/// Immutable once created; its strings are kept NUL-terminated for C getters.
///
/// The C type of this name is the opaque handle in `crate::ffi`:
/// cbindgen:ignore
pub struct PasswordCredential {
    pub resource: CString,
    pub user_name: CString,
    pub password: CString,
}

impl PasswordCredential {
    pub fn new(resource: &str, user_name: &str, password: &str) -> Self {
        PasswordCredential {
            resource: c_text(resource),
            user_name: c_text(user_name),
            password: c_text(password),
        }
    }

    pub fn user_name(&self) -> &str {
        self.user_name.to_str().unwrap_or("")
    }

    pub fn password(&self) -> &str {
        self.password.to_str().unwrap_or("")
    }
}

impl From<&PasswordCredential> for crate::session::connection::Credential {
    fn from(c: &PasswordCredential) -> Self {
        crate::session::connection::Credential {
            user: c.user_name().to_owned(),
            password: c.password().to_owned(),
        }
    }
}
