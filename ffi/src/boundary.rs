//! The panic boundary every entry point runs in, the conversions of C arguments, and the
//! generic shapes of the entry points (constructor, getter, string getter, setter).

use std::borrow::Cow;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use zeroize::Zeroize;

use crate::failure::Failure;
use crate::last_error;
use crate::status::tk_status;

/// Runs the body of an entry point: resets the thread's last error, catches any panic, and
/// records a failure for `tk_last_error_*`.
pub(crate) fn call(func: &'static str, body: impl FnOnce() -> Result<(), Failure>) -> tk_status {
    last_error::clear();
    let result = catch_unwind(AssertUnwindSafe(body))
        .unwrap_or_else(|payload| Err(Failure::panic(func, &*payload)));
    match result {
        Ok(()) => tk_status::Ok,
        Err(f) => {
            let status = f.status;
            last_error::set(f);
            status
        }
    }
}

/// Like [`call`], for the `tk_last_error_*` accessors: the last error is neither reset nor
/// replaced.
pub(crate) fn quiet(body: impl FnOnce() -> Result<(), Failure>) -> tk_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => tk_status::Ok,
        Ok(Err(f)) => f.status,
        Err(_) => tk_status::Panic,
    }
}

/// For the `*_free` functions, which return nothing.
pub(crate) fn call_void(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

/// A required handle or struct argument.
pub(crate) unsafe fn arg<'a, T>(func: &str, p: *const T, name: &str) -> Result<&'a T, Failure> {
    unsafe { p.as_ref() }.ok_or_else(|| Failure::null(func, name))
}

/// A required, mutable handle argument.
pub(crate) unsafe fn arg_mut<'a, T>(
    func: &str,
    p: *mut T,
    name: &str,
) -> Result<&'a mut T, Failure> {
    unsafe { p.as_mut() }.ok_or_else(|| Failure::null(func, name))
}

/// A required out-parameter, checked before any work is done; written with `ptr.write`.
pub(crate) fn out_ptr<T>(func: &str, p: *mut T, name: &str) -> Result<*mut T, Failure> {
    if p.is_null() {
        Err(Failure::null(func, name))
    } else {
        Ok(p)
    }
}

/// A required string argument.
pub(crate) unsafe fn str_arg<'a>(
    func: &str,
    p: *const c_char,
    name: &str,
) -> Result<&'a str, Failure> {
    unsafe { opt_str_arg(func, p, name) }?.ok_or_else(|| Failure::null(func, name))
}

/// An optional string argument: NULL is `None`.
pub(crate) unsafe fn opt_str_arg<'a>(
    func: &str,
    p: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map(Some)
        .map_err(|_| Failure::utf8(func, name))
}

/// Copies `s` and a NUL into the caller's buffer of `len` bytes. `*out_len` receives the length
/// needed (NUL included) on success and with `TK_STATUS_BUFFER_TOO_SMALL`, in which case the
/// buffer is not touched. `buf` may be NULL when `len` is 0 (asking for the length).
///
/// Every string C reads comes through here, so this is the one place of the rule that a string
/// holding a NUL character (`"a@x.com\u{0}@evil"` in a claim, a server's token…) is
/// `TK_STATUS_WRONG_TYPE`, nothing written: C would read it cut at the NUL, a different string.
pub(crate) unsafe fn write_str(
    func: &str,
    s: &str,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> Result<(), Failure> {
    let out_len = out_ptr(func, out_len, "out_len")?;
    if buf.is_null() && len > 0 {
        return Err(Failure::null(func, "buf"));
    }
    if let Some(at) = memchr::memchr(0, s.as_bytes()) {
        return Err(Failure::embedded_nul(func, at, s.len()));
    }
    let need = s.len() + 1;
    unsafe { out_len.write(need) };
    if len < need {
        return Err(Failure::buffer(func, len, need));
    }
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), buf.cast::<u8>(), s.len());
        buf.add(s.len()).write(0);
    }
    Ok(())
}

/// Writes a `#[repr(C)]` struct that may grow (fields only appended) into a caller's struct of
/// `out_size` bytes: at least `min_size` (the struct's first version), at most the current
/// size is written.
pub(crate) unsafe fn write_sized<T: Copy>(
    func: &str,
    out: *mut T,
    out_size: usize,
    min_size: usize,
    value: T,
) -> Result<(), Failure> {
    let out = out_ptr(func, out, "out")?;
    if out_size < min_size {
        return Err(Failure::buffer(func, out_size, min_size));
    }
    let n = out_size.min(std::mem::size_of::<T>());
    unsafe {
        std::ptr::copy_nonoverlapping((&value as *const T).cast::<u8>(), out.cast::<u8>(), n)
    };
    Ok(())
}

/// Moves a value to the heap for C; freed with [`free_handle`].
pub(crate) fn new_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// The body of every `tk_*_free`: NULL is ignored, a panic in a destructor is contained.
pub(crate) unsafe fn free_handle<T>(p: *mut T) {
    call_void(|| {
        if !p.is_null() {
            drop(unsafe { Box::from_raw(p) });
        }
    })
}

// The shapes of almost every entry point, after rustls-ffi's helpers: check the handle and the
// out-parameter, convert, call the core, write the output.

/// A constructor: `*out` receives a new handle of what `make` builds.
pub(crate) unsafe fn make<T>(
    func: &'static str,
    out: *mut *mut T,
    make: impl FnOnce() -> Result<T, Failure>,
) -> tk_status {
    call(func, || {
        let out = out_ptr(func, out, "out")?;
        let value = make()?;
        unsafe { out.write(new_handle(value)) };
        Ok(())
    })
}

/// A getter or a call that has a result: `*out` receives what `get` gives for the handle.
pub(crate) unsafe fn get<T, V>(
    func: &'static str,
    handle: *const T,
    name: &str,
    out: *mut V,
    get: impl FnOnce(&T) -> Result<V, Failure>,
) -> tk_status {
    call(func, || {
        let handle = unsafe { arg(func, handle, name) }?;
        let out = out_ptr(func, out, "out")?;
        let value = get(handle)?;
        unsafe { out.write(value) };
        Ok(())
    })
}

/// Every string getter: the string `get` gives for the handle, copied as by [`write_str`].
/// An owned string (a header, JSON) is wiped once copied.
pub(crate) unsafe fn get_str<T>(
    func: &'static str,
    handle: *const T,
    name: &str,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
    get: impl FnOnce(&T) -> Result<Cow<'_, str>, Failure>,
) -> tk_status {
    call(func, || {
        let handle = unsafe { arg(func, handle, name) }?;
        let s = get(handle)?;
        let written = unsafe { write_str(func, &s, buf, len, out_len) };
        if let Cow::Owned(mut s) = s {
            s.zeroize();
        }
        written
    })
}

/// A handle that setters change in place (a config, parameters): its argument name and the
/// core value it holds.
pub(crate) trait Editable {
    const NAME: &'static str;
    type Inner;
    fn inner(&mut self) -> &mut Self::Inner;
}

/// `Editable` for a handle type whose field `inner` is the core value.
macro_rules! editable {
    ($handle:ty, $name:literal, $inner:ty) => {
        impl crate::boundary::Editable for $handle {
            const NAME: &'static str = $name;
            type Inner = $inner;
            fn inner(&mut self) -> &mut $inner {
                &mut self.inner
            }
        }
    };
}
pub(crate) use editable;

/// What the body of a setter gives back: nothing, or a result.
pub(crate) trait Done {
    fn done(self) -> Result<(), Failure>;
}

impl Done for () {
    fn done(self) -> Result<(), Failure> {
        Ok(())
    }
}

impl Done for Result<(), Failure> {
    fn done(self) -> Result<(), Failure> {
        self
    }
}

/// A setter: `edit` changes the core value of the handle in place.
pub(crate) unsafe fn edit<T: Editable, R: Done>(
    func: &'static str,
    handle: *mut T,
    edit: impl FnOnce(&mut T::Inner) -> R,
) -> tk_status {
    call(func, || {
        edit(unsafe { arg_mut(func, handle, T::NAME) }?.inner()).done()
    })
}

/// A string setter: `edit` gets the core value of the handle and the string argument `name`.
pub(crate) unsafe fn edit_str<T: Editable, R: Done>(
    func: &'static str,
    handle: *mut T,
    value: *const c_char,
    name: &str,
    edit: impl FnOnce(&mut T::Inner, &str) -> R,
) -> tk_status {
    call(func, || {
        let handle = unsafe { arg_mut(func, handle, T::NAME) }?;
        edit(handle.inner(), unsafe { str_arg(func, value, name) }?).done()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let s = call("tk_test", || panic!("boom"));
        assert_eq!(s, tk_status::Panic);
        assert_eq!(crate::error::tk_last_error_status(), tk_status::Panic);
        let mut buf = [0 as c_char; 256];
        let mut n = 0;
        let s = unsafe { crate::error::tk_last_error_message(buf.as_mut_ptr(), 256, &mut n) };
        assert_eq!(s, tk_status::Ok);
        let msg = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert!(msg.contains("tk_test") && msg.contains("boom"), "{msg}");
        assert_eq!(quiet(|| panic!("again")), tk_status::Panic);
        call_void(|| panic!("in a free"));
    }

    #[test]
    fn strings_fit_exactly_or_leave_the_buffer_alone() {
        let mut buf = [b'#' as c_char; 8];
        let mut n = 0;
        let r = unsafe { write_str("f", "abcdefgh", buf.as_mut_ptr(), 8, &mut n) };
        assert_eq!(r.unwrap_err().status, tk_status::BufferTooSmall);
        assert_eq!(n, 9);
        assert!(buf.iter().all(|&c| c == b'#' as c_char));
        let r = unsafe { write_str("f", "abcdefg", buf.as_mut_ptr(), 8, &mut n) };
        assert!(r.is_ok());
        assert_eq!(n, 8);
        assert_eq!(buf[7], 0);
        let r = unsafe { write_str("f", "", std::ptr::null_mut(), 0, &mut n) };
        assert_eq!(r.unwrap_err().status, tk_status::BufferTooSmall);
        assert_eq!(n, 1);
        let r = unsafe { write_str("f", "x", std::ptr::null_mut(), 4, &mut n) };
        assert_eq!(r.unwrap_err().status, tk_status::NullParameter);
    }

    #[test]
    fn a_string_holding_a_nul_is_never_handed_out_cut() {
        let mut buf = [b'#' as c_char; 32];
        let mut n = 12345;
        for (s, at) in [("a@x.com\0@evil", 7), ("\0", 0), ("end\0", 3)] {
            let r = unsafe { write_str("f", s, buf.as_mut_ptr(), buf.len(), &mut n) };
            let f = r.unwrap_err();
            assert_eq!(f.status, tk_status::WrongType, "{s:?}");
            assert!(f.message.contains(&format!("byte {at}")), "{}", f.message);
            // Not even the length is written, and the buffer is untouched.
            assert_eq!(n, 12345);
            assert!(buf.iter().all(|&c| c == b'#' as c_char));
            let r = unsafe { write_str("f", s, std::ptr::null_mut(), 0, &mut n) };
            assert_eq!(r.unwrap_err().status, tk_status::WrongType);
        }
        // Through the string getter, with an owned string.
        let s = unsafe {
            get_str("f", &(), "h", buf.as_mut_ptr(), buf.len(), &mut n, |_| {
                Ok(String::from("x\0y").into())
            })
        };
        assert_eq!(s, tk_status::WrongType);
        assert_eq!(crate::error::tk_last_error_status(), tk_status::WrongType);
    }
}
