//! `PasswordCredential` (Windows.Security.Credentials). Immutable: every function
//! may be called from any thread.
//!
//! Imports: `crate::ffi` (helpers, `handle`), `rtws_core::winrt::credential`, `rtws_types`.

use crate::ffi::handle::Handle;
use crate::ffi::{call, call_count, in_str, out};
use rtws_core::winrt::credential as core;
use rtws_types::HRESULT;
use std::ffi::c_char;

/// Opaque handle of a PasswordCredential.
pub struct PasswordCredential {
    _private: [u8; 0],
}
impl Handle for PasswordCredential {
    type Target = core::PasswordCredential;
    const NAME: &'static str = "PasswordCredential";
}

/// `PasswordCredential(resource, userName, password)` (ABI name
/// CreatePasswordCredential): a user name and password, for example for
/// `MessageWebSocketControl_put_ServerCredential`. The strings (UTF-8) are copied;
/// `resource` is a label rtws does not interpret. The caller owns `*result`.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG` (not UTF-8).
///
/// ```c
/// PasswordCredential *cred;
/// PasswordCredential_Create("ws://example", "alice", "s3cret", &cred);
/// MessageWebSocketControl_put_ServerCredential(control, cred);
/// PasswordCredential_Release(cred);
/// ```
#[no_mangle]
pub extern "C" fn PasswordCredential_Create(
    resource: *const c_char,
    user_name: *const c_char,
    password: *const c_char,
    result: *mut *mut PasswordCredential,
) -> HRESULT {
    call(|| {
        let result = out(result, "result")?;
        let c = core::PasswordCredential::new(
            in_str(resource, "resource")?,
            in_str(user_name, "userName")?,
            in_str(password, "password")?,
        );
        result.set(PasswordCredential::new_handle(c))
    })
}

/// Adds a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn PasswordCredential_AddRef(this: *mut PasswordCredential) -> u32 {
    call_count(|| PasswordCredential::add_ref(this))
}

/// Releases a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn PasswordCredential_Release(this: *mut PasswordCredential) -> u32 {
    call_count(|| PasswordCredential::release(this))
}

/// `Resource`, a UTF-8 string owned by the credential (valid while it lives).
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn PasswordCredential_get_Resource(
    this: *mut PasswordCredential,
    value: *mut *const c_char,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(PasswordCredential::c_str(this, "Resource", |c| {
            c.resource().to_owned()
        })?)
    })
}

/// `UserName`, a UTF-8 string owned by the credential (valid while it lives).
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn PasswordCredential_get_UserName(
    this: *mut PasswordCredential,
    value: *mut *const c_char,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(PasswordCredential::c_str(this, "UserName", |c| {
            c.user_name().to_owned()
        })?)
    })
}

/// `Password`, a UTF-8 string owned by the credential (valid while it lives).
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn PasswordCredential_get_Password(
    this: *mut PasswordCredential,
    value: *mut *const c_char,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(PasswordCredential::c_str(this, "Password", |c| {
            c.password().to_owned()
        })?)
    })
}
