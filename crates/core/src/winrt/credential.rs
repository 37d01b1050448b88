//! `Windows.Security.Credentials.PasswordCredential`: resource, user name, password.

use crate::session::connect::Credential;

/// Immutable once created.
pub struct PasswordCredential {
    resource: String,
    user_name: String,
    password: String,
}

impl PasswordCredential {
    pub fn new(resource: &str, user_name: &str, password: &str) -> Self {
        PasswordCredential {
            resource: resource.to_owned(),
            user_name: user_name.to_owned(),
            password: password.to_owned(),
        }
    }

    pub fn resource(&self) -> &str {
        &self.resource
    }

    pub fn user_name(&self) -> &str {
        &self.user_name
    }

    pub fn password(&self) -> &str {
        &self.password
    }
}

impl From<&PasswordCredential> for Credential {
    fn from(c: &PasswordCredential) -> Self {
        Credential {
            user: c.user_name.clone(),
            password: c.password.clone(),
        }
    }
}
