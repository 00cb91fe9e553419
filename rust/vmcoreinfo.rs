// SPDX-License-Identifier: GPL-2.0

//! The VMCOREINFO text: `KEY=VALUE` lines that tell makedumpfile, crash and drgn
//! where the crashed kernel keeps its data structures and how they are laid out.
//!
//! The text lives in a fixed page-sized buffer. Lines are appended as the stock
//! kernel appends them: each line is cut at 79 bytes, and once the buffer is full
//! the rest is dropped (the caller warns once). Pure logic: no allocation and no
//! kernel dependency.

use core::fmt;

/// Bytes of VMCOREINFO text (`VMCOREINFO_BYTES`, one page).
pub const BYTES: usize = 4096;
/// The note's name.
pub const NOTE_NAME: &[u8] = b"VMCOREINFO";
/// Bytes of the note that carries the text: its header, name and a full buffer,
/// and the empty note after it (`VMCOREINFO_NOTE_SIZE`).
pub const NOTE_SIZE: usize = 12 * 2 + (NOTE_NAME.len() + 1).next_multiple_of(4) + BYTES;
/// The longest line: the stock kernel formats each one into 0x50 bytes.
pub const LINE_MAX: usize = 0x50 - 1;

/// One line being formatted; whatever passes [`LINE_MAX`] is dropped.
pub struct Line {
    buf: [u8; LINE_MAX],
    len: usize,
}

impl Line {
    /// An empty line.
    pub const fn new() -> Self {
        Line {
            buf: [0; LINE_MAX],
            len: 0,
        }
    }

    /// The bytes formatted so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(LINE_MAX - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Appends `bytes` to the text `data[..*size]`, as much as fits. Returns true if
/// the buffer is now full (the stock kernel's truncation warning).
pub fn append(data: &mut [u8], size: &mut usize, bytes: &[u8]) -> bool {
    let room = data.len().saturating_sub(*size);
    let n = bytes.len().min(room);
    data[*size..*size + n].copy_from_slice(&bytes[..n]);
    *size += n;
    *size == data.len()
}

/// The keys of a VMCOREINFO text, in order: what stands before `=` on each line.
pub fn keys(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| l.split(|&b| b == b'=').next().unwrap_or(l))
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn lines_and_truncation() {
        let mut l = Line::new();
        write!(
            l,
            "SYMBOL({})={:x}\n",
            "init_uts_ns", 0xffff_ffff_8200_0000u64
        )
        .unwrap();
        assert_eq!(l.as_bytes(), b"SYMBOL(init_uts_ns)=ffffffff82000000\n");
        let mut long = Line::new();
        for _ in 0..20 {
            long.write_str("abcdefgh").unwrap();
        }
        assert_eq!(long.as_bytes().len(), LINE_MAX);

        let mut data = [0u8; 16];
        let mut size = 0;
        assert!(!append(&mut data, &mut size, b"A=1\nB=2\n"));
        assert!(append(&mut data, &mut size, b"C=3\nD=4\nE=5\n"));
        assert_eq!(size, 16);
        assert_eq!(
            keys(&data).collect::<Vec<_>>(),
            [&b"A"[..], b"B", b"C", b"D"]
        );
        assert_eq!(NOTE_SIZE, 4132);
    }
}
