//! The knob setters every config shares (`tk_*_set_http`, `tk_*_set_http_text` and the
//! per-knob HTTP setters), all through the core's by-name setters: unknown names and unusable
//! numbers are refused at once, ranges when the client, verifier or sign-in client is built.

use std::ffi::c_char;

use tk_core::{ClientConfig, HttpOptions, SignInConfig, VerifierConfig};

use crate::boundary::{edit, edit_str, str_arg, Editable};
use crate::failure::Failure;
use crate::status::tk_status;

/// A core config that embeds `HttpOptions` (client, verifier and sign-in configs).
pub(crate) trait Http {
    fn http(&mut self) -> &mut HttpOptions;
}

impl Http for ClientConfig {
    fn http(&mut self) -> &mut HttpOptions {
        self.http_mut()
    }
}

impl Http for VerifierConfig {
    fn http(&mut self) -> &mut HttpOptions {
        &mut self.http
    }
}

impl Http for SignInConfig {
    fn http(&mut self) -> &mut HttpOptions {
        &mut self.http
    }
}

/// Sets `knobs` (name, value in the core's unit) with the core's by-name setter `set` on a
/// copy of `part`, which is replaced only when every knob was accepted.
pub(crate) fn set_all<P: Clone>(
    part: &mut P,
    set: fn(&mut P, &str, f64) -> tk_core::Result<()>,
    knobs: &[(&str, f64)],
) -> Result<(), Failure> {
    let mut next = part.clone();
    for &(name, value) in knobs {
        set(&mut next, name, value)?;
    }
    *part = next;
    Ok(())
}

/// The body of every per-knob HTTP setter: `HttpOptions::set` for each (name, value).
pub(crate) unsafe fn set_http<C: Editable<Inner: Http>>(
    func: &'static str,
    config: *mut C,
    knobs: &[(&str, f64)],
) -> tk_status {
    unsafe { edit(func, config, |c| set_all(c.http(), HttpOptions::set, knobs)) }
}

/// The body of `tk_*_set_http`: one HTTP knob by its C name.
pub(crate) unsafe fn set_http_named<C: Editable<Inner: Http>>(
    func: &'static str,
    config: *mut C,
    name: *const c_char,
    value: f64,
) -> tk_status {
    unsafe {
        edit_str(func, config, name, "name", |c, n| {
            set_all(c.http(), HttpOptions::set, &[(n, value)])
        })
    }
}

/// The body of `tk_verifier_config_set` and `tk_signin_config_set`: one knob of the config's
/// own or an HTTP knob, by name, through the core's `set` (seconds for durations).
pub(crate) unsafe fn set_named<C: Editable<Inner: Clone>>(
    func: &'static str,
    config: *mut C,
    name: *const c_char,
    value: f64,
    set: fn(&mut C::Inner, &str, f64) -> tk_core::Result<()>,
) -> tk_status {
    unsafe {
        edit_str(func, config, name, "name", |c, n| {
            set_all(c, set, &[(n, value)])
        })
    }
}

/// The body of `tk_*_set_http_text`: one text HTTP knob (`ca_file`) by its C name.
pub(crate) unsafe fn set_http_text_named<C: Editable<Inner: Http>>(
    func: &'static str,
    config: *mut C,
    name: *const c_char,
    value: *const c_char,
) -> tk_status {
    unsafe {
        edit_str(func, config, name, "name", |c, n| -> Result<(), Failure> {
            let value = str_arg(func, value, "value")?;
            Ok(c.http().set_text(n, value)?)
        })
    }
}

/// Milliseconds as the core's seconds.
pub(crate) fn ms(ms: u64) -> f64 {
    ms as f64 / 1000.0
}
