// SPDX-License-Identifier: GPL-2.0

//! The purgatory of a file-mode image: the relocatable object built into the
//! kernel (arch/x86/purgatory/, still C and assembly), laid out in one buffer
//! and placed as a segment, relocated for its address, with its variables set
//! by the loader (the entry registers) and by the digest (the regions and the
//! SHA-256 the purgatory checks before it jumps to the new kernel).
//!
//! The layout and the symbol look-up are pure ([`crate::purgatory`]); the
//! relocations are applied by the x86 code (`machine_kexec::apply_relocations`).

use super::place;
use crate::kexec::image::Kimage;
use crate::machine_kexec::{apply_relocations, Purgatory};
use crate::purgatory::{self as pure, Object, Shdr};
use kernel::alloc::{KVVec, VVec};
use kernel::bindings;
use kernel::prelude::*;

/// The built-in object (`kexec_purgatory[]`, `kexec_purgatory_size` bytes).
fn object_bytes() -> &'static [u8] {
    // SAFETY: the object is read-only data of the kernel image, of the size
    // the build recorded next to it.
    unsafe {
        core::slice::from_raw_parts(
            (&raw const bindings::kexec_purgatory).cast::<u8>(),
            bindings::kexec_purgatory_size,
        )
    }
}

fn to_c(s: &Shdr) -> bindings::Elf64_Shdr {
    bindings::Elf64_Shdr {
        sh_name: s.name,
        sh_type: s.kind,
        sh_flags: s.flags,
        sh_addr: s.addr,
        sh_offset: s.offset,
        sh_size: s.size,
        sh_link: s.link,
        sh_info: s.info,
        sh_addralign: s.addralign,
        sh_entsize: s.entsize,
    }
}

/// The purgatory as placed in an image being built.
pub(crate) struct Loaded {
    /// The built-in object.
    obj: Object<'static>,
    /// Its allocated sections, laid out: the segment's data.
    buf: VVec<u8>,
    /// The working section headers: final addresses, offsets in `buf`.
    sechdrs: KVVec<bindings::Elf64_Shdr>,
    /// Where the segment goes.
    mem: u64,
}

impl Loaded {
    /// Lays the purgatory out, adds it to `image` with the placement `pbuf`
    /// asks for (its size and alignment are filled in here), sets the image's
    /// entry point and applies the relocations (`kexec_load_purgatory`).
    pub(crate) fn load(image: &mut Kimage, mut pbuf: bindings::kexec_buf) -> Result<Loaded> {
        let bytes = object_bytes();
        if bytes.is_empty() {
            return Err(EINVAL);
        }
        let obj = Object::parse(bytes).map_err(|e| {
            pr_err!(
                "kexec_file: the built-in purgatory is not a relocatable x86_64 object: {:?}\n",
                e
            );
            ENOEXEC
        })?;
        let layout = pure::buf_layout(&obj);
        let bufsz = usize::try_from(layout.bufsz).map_err(|_| ENOMEM)?;
        let mut buf = VVec::<u8>::from_elem(0, bufsz, GFP_KERNEL)?;
        pbuf.buffer = buf.as_mut_ptr().cast();
        pbuf.bufsz = layout.bufsz as c_ulong;
        pbuf.memsz = layout.memsz as c_ulong;
        pbuf.buf_align = layout.align as c_ulong;
        place::add(image, &mut pbuf)?;
        let mem = pbuf.mem as u64;

        let n = obj.shnum();
        let mut work = KVVec::<Shdr>::from_elem(Shdr::default(), n, GFP_KERNEL)?;
        let entry = pure::place_sections(&obj, mem, &mut work).map_err(|e| {
            pr_err!("kexec_file: purgatory layout failed: {:?}\n", e);
            ENOEXEC
        })?;
        image.c_mut().start = entry as c_ulong;
        // Copy each allocated section with data to its offset in the buffer.
        for i in 0..n {
            let (Some(orig), Some(w)) = (obj.shdr(i), work.get(i)) else {
                return Err(ENOEXEC);
            };
            if orig.flags & pure::SHF_ALLOC == 0 || orig.kind == pure::SHT_NOBITS {
                continue;
            }
            let src = range(orig.offset, orig.size)
                .and_then(|r| bytes.get(r))
                .ok_or(ENOEXEC)?;
            let dst = range(w.offset, w.size)
                .and_then(|r| buf.get_mut(r))
                .ok_or(ENOEXEC)?;
            dst.copy_from_slice(src);
        }
        let mut sechdrs = KVVec::with_capacity(n, GFP_KERNEL)?;
        for s in work.iter() {
            sechdrs.push(to_c(s), GFP_KERNEL)?;
        }
        let mut loaded = Loaded {
            obj,
            buf,
            sechdrs,
            mem,
        };
        loaded.relocate()?;
        Ok(loaded)
    }

    /// Applies every relocation section aimed at an allocated section
    /// (`kexec_apply_relocations`).
    fn relocate(&mut self) -> Result {
        let n = self.sechdrs.len();
        for i in 0..n {
            let rel = self.sechdrs[i];
            if rel.sh_type != pure::SHT_RELA && rel.sh_type != pure::SHT_REL {
                continue;
            }
            let (target, symtab) = (rel.sh_info as usize, rel.sh_link as usize);
            if target >= n || symtab >= n {
                return Err(ENOEXEC);
            }
            let section = self.sechdrs[target];
            if section.sh_flags & pure::SHF_ALLOC == 0 {
                continue;
            }
            let symtab = self.sechdrs[symtab];
            if symtab.sh_link as usize >= n {
                continue;
            }
            if rel.sh_type == pure::SHT_REL {
                pr_err!("kexec_file: REL relocation unsupported.\n");
                return Err(ENOEXEC);
            }
            if section.sh_type == pure::SHT_NOBITS {
                pr_err!("kexec: purgatory relocations aimed at a section without data\n");
                return Err(ENOEXEC);
            }
            let bytes = range(section.sh_offset, section.sh_size)
                .and_then(|r| self.buf.get_mut(r))
                .ok_or(ENOEXEC)?;
            let p = Purgatory {
                object: self.obj.bytes(),
                sechdrs: &self.sechdrs,
            };
            apply_relocations(&p, &section, bytes, &rel, &symtab)?;
        }
        Ok(())
    }

    /// Where the segment is.
    pub(crate) fn mem(&self) -> u64 {
        self.mem
    }

    /// The segment's data (to recognise the segment by its buffer).
    pub(crate) fn buffer(&self) -> *const u8 {
        self.buf.as_ptr()
    }

    /// The bytes of the variable `name` of `size` bytes in the buffer
    /// (`kexec_purgatory_get_set_symbol`): `EINVAL` if there is no such global
    /// symbol, if its size differs or if it has no data (bss).
    pub(crate) fn symbol_bytes(
        &mut self,
        name: &str,
        size: usize,
        what: &str,
    ) -> Result<&mut [u8]> {
        let sym = self.obj.find_symbol(name.as_bytes()).ok_or(EINVAL)?;
        if sym.size != size as u64 {
            pr_err!(
                "kexec_file: symbol {} size mismatch: expected {} actual {}\n",
                name,
                sym.size,
                size
            );
            return Err(EINVAL);
        }
        let sec = *self.sechdrs.get(usize::from(sym.shndx)).ok_or(EINVAL)?;
        if sec.sh_type == pure::SHT_NOBITS {
            pr_err!(
                "kexec_file: symbol {} is in a bss section. Cannot {}\n",
                name,
                what
            );
            return Err(EINVAL);
        }
        let start = sec.sh_offset.checked_add(sym.value).ok_or(EINVAL)?;
        range(start, size as u64)
            .and_then(|r| self.buf.get_mut(r))
            .ok_or(EINVAL)
    }

    /// Reads the variable `name` into `out`.
    pub(crate) fn get(&mut self, name: &str, out: &mut [u8]) -> Result {
        let src = self.symbol_bytes(name, out.len(), "get")?;
        out.copy_from_slice(src);
        Ok(())
    }

    /// Writes `value` into the variable `name`.
    pub(crate) fn set(&mut self, name: &str, value: &[u8]) -> Result {
        let dst = self.symbol_bytes(name, value.len(), "set")?;
        dst.copy_from_slice(value);
        Ok(())
    }

    /// The final address of the symbol `name` (`kexec_purgatory_get_symbol_addr`).
    pub(crate) fn symbol_addr(&self, name: &str) -> Result<u64> {
        let sym = self.obj.find_symbol(name.as_bytes()).ok_or(EINVAL)?;
        let sec = self.sechdrs.get(usize::from(sym.shndx)).ok_or(EINVAL)?;
        Ok(sec.sh_addr.wrapping_add(sym.value))
    }
}

/// `start..start + len` as a `usize` range, if it does not overflow.
fn range(start: u64, len: u64) -> Option<core::ops::Range<usize>> {
    let start = usize::try_from(start).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    Some(start..end)
}
