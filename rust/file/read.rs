// SPDX-License-Identifier: GPL-2.0

//! What kexec_file_load reads: the kernel and initrd files, through
//! `kernel_read_file_from_fd` (which carries the LSM and IMA hooks and denies
//! writers while it reads), and the command line from userspace.

use core::ptr::NonNull;
use kernel::bindings;
use kernel::prelude::*;

/// `KEXEC_FILE_SIZE_MAX`: the smaller of 4 GiB and `SSIZE_MAX`.
const FILE_SIZE_MAX: usize = 1 << 32;

/// A file's contents, in the vmalloc buffer `kernel_read_file_from_fd` made.
///
/// # Invariants
///
/// `ptr` is a vmalloc allocation of at least `len` bytes that this value owns,
/// and the `len` bytes are initialised.
pub(crate) struct FileBuf {
    ptr: NonNull<u8>,
    len: usize,
}

impl FileBuf {
    /// Reads all of `fd`, as `id` (the LSMs and IMA are told which file this
    /// is). The errno is the read's: `EBADF`, `EINVAL` (not a regular file,
    /// empty), `ETXTBSY`, `EFBIG`, `ENOMEM`, `EIO` or an LSM's.
    pub(crate) fn read(fd: i32, id: bindings::kernel_read_file_id) -> Result<FileBuf> {
        let mut buf: *mut c_void = core::ptr::null_mut();
        // SAFETY: `buf` is a valid out-pointer; the callee allocates the buffer
        // and hands it over on success, or leaves nothing allocated.
        let ret = unsafe {
            bindings::kernel_read_file_from_fd(
                fd,
                0,
                &mut buf,
                FILE_SIZE_MAX,
                core::ptr::null_mut(),
                id,
            )
        };
        if ret < 0 {
            return Err(Error::from_errno(ret as i32));
        }
        // INVARIANT: a vmalloc buffer holding the `ret` bytes read, now ours.
        match NonNull::new(buf.cast::<u8>()) {
            Some(ptr) => Ok(FileBuf {
                ptr,
                len: ret as usize,
            }),
            None => Err(EINVAL),
        }
    }

    /// The contents.
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` initialised bytes at `ptr` (type invariant).
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for FileBuf {
    fn drop(&mut self) {
        // SAFETY: our vmalloc buffer (type invariant), not used after this.
        unsafe { bindings::vfree(self.ptr.as_ptr().cast()) };
    }
}

/// The command line as copied from userspace (with its NUL), or empty.
///
/// # Invariants
///
/// `ptr` is null with `len` 0, or a kmalloc allocation of `len` initialised
/// bytes that this value owns.
pub(crate) struct Cmdline {
    ptr: *mut u8,
    len: usize,
}

impl Cmdline {
    /// No command line (a length of 0: the pointer is not read).
    pub(crate) fn empty() -> Cmdline {
        Cmdline {
            ptr: core::ptr::null_mut(),
            len: 0,
        }
    }

    /// Copies `len` bytes from the user address `user`. The allocation is the
    /// one `memdup_user` makes, which does not warn when `len` is more than
    /// the slab can give (`ENOMEM`); an unreadable range is `EFAULT`.
    pub(crate) fn copy(user: usize, len: usize) -> Result<Cmdline> {
        // SAFETY: `memdup_user` checks and copies the user range itself.
        let p = unsafe { bindings::memdup_user(user as *const c_void, len) };
        let p = kernel::error::from_err_ptr(p)?;
        // INVARIANT: `memdup_user` returned a kmalloc copy of `len` bytes.
        Ok(Cmdline { ptr: p.cast(), len })
    }

    /// The bytes, with the NUL.
    pub(crate) fn as_slice(&self) -> &[u8] {
        if self.ptr.is_null() {
            return &[];
        }
        // SAFETY: `len` initialised bytes at `ptr` (type invariant).
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for Cmdline {
    fn drop(&mut self) {
        // SAFETY: null or our kmalloc buffer (type invariant).
        unsafe { bindings::kfree(self.ptr.cast()) };
    }
}
