//! Host side (std, `host` feature): the kernel's ELF as a flat arm64 `Image`.
//!
//! A loader that boots Linux (QEMU's `-kernel` without an ELF, a
//! hypervisor's domain builder) takes a flat image that starts with the
//! 64-byte arm64 Image header (Linux `Documentation/arch/arm64/booting.rst`,
//! "Call the kernel image"). The guest-mode kernel ELF already carries that
//! header at its lowest address (the `.image_header` section its `guest.ld`
//! puts first), so the conversion is what `objcopy -O binary` does: the
//! file bytes of every `PT_LOAD` segment, placed at its physical address
//! minus the lowest one, gaps zero-filled, `.bss` (memory beyond the file
//! bytes) left out. [`Arm64Header`] reads the header back to check it.

use std::fmt;

use object::elf::{FileHeader64, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use object::Endianness;

/// `magic` of the arm64 Image header, at offset 0x38: "ARM\x64".
pub const ARM64_MAGIC: [u8; 4] = *b"ARM\x64";

/// Why an ELF could not be turned into an Image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// Not a 64-bit ELF file (or its program headers are malformed).
    NotElf64(String),
    /// No `PT_LOAD` segment with file bytes.
    NoLoadSegments,
    /// The segments span more than 256 MiB (a wrong link address, not a kernel).
    TooLarge(u64),
    /// The image does not start with an arm64 Image header.
    NoArm64Header,
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotElf64(e) => write!(f, "not a 64-bit ELF: {e}"),
            Self::NoLoadSegments => write!(f, "no PT_LOAD segment with file contents"),
            Self::TooLarge(n) => write!(f, "the PT_LOAD segments span {n:#x} bytes (more than 256 MiB)"),
            Self::NoArm64Header => write!(f, "no arm64 Image header (magic \"ARM\\x64\" at offset 0x38)"),
        }
    }
}

impl std::error::Error for ImageError {}

/// The flat image of `elf`'s `PT_LOAD` segments, and the physical address
/// its first byte belongs at.
///
/// # Errors
/// [`ImageError`]: not an ELF64, nothing to load, or an implausible span.
pub fn elf_to_flat(elf: &[u8]) -> Result<(u64, Vec<u8>), ImageError> {
    let header = FileHeader64::<Endianness>::parse(elf).map_err(|e| ImageError::NotElf64(e.to_string()))?;
    let endian = header.endian().map_err(|e| ImageError::NotElf64(e.to_string()))?;
    let phdrs = header.program_headers(endian, elf).map_err(|e| ImageError::NotElf64(e.to_string()))?;
    let loads: Vec<_> = phdrs.iter().filter(|p| p.p_type(endian) == PT_LOAD && p.p_filesz(endian) > 0).collect();
    let base = loads.iter().map(|p| p.p_paddr(endian)).min().ok_or(ImageError::NoLoadSegments)?;
    let end = loads.iter().map(|p| p.p_paddr(endian) + p.p_filesz(endian)).max().unwrap_or(base);
    if end - base > 256 << 20 {
        return Err(ImageError::TooLarge(end - base));
    }
    let mut image = vec![0u8; (end - base) as usize];
    for p in loads {
        let bytes = p.data(endian, elf).map_err(|()| ImageError::NotElf64("segment outside the file".into()))?;
        let at = (p.p_paddr(endian) - base) as usize;
        image[at..at + bytes.len()].copy_from_slice(bytes);
    }
    Ok((base, image))
}

/// The arm64 Image header's fields (all little-endian in the image).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arm64Header {
    /// `code0`: the first instruction (a branch to the entry code).
    pub code0: u32,
    /// `text_offset`: load offset from a 2 MiB-aligned base.
    pub text_offset: u64,
    /// `image_size`: bytes the loaded image occupies, `.bss` and stacks included.
    pub image_size: u64,
    /// `flags`: bit 0 big-endian, bits 2:1 page size (1 = 4K), bit 3 placement.
    pub flags: u64,
}

impl Arm64Header {
    /// Reads the header at the start of `image`.
    ///
    /// # Errors
    /// [`ImageError::NoArm64Header`] if the image is shorter than 64 bytes or
    /// has no magic.
    pub fn read(image: &[u8]) -> Result<Arm64Header, ImageError> {
        if image.len() < 64 || image[0x38..0x3c] != ARM64_MAGIC {
            return Err(ImageError::NoArm64Header);
        }
        let u64_at = |o: usize| u64::from_le_bytes(image[o..o + 8].try_into().expect("8 bytes"));
        Ok(Arm64Header {
            code0: u32::from_le_bytes(image[0..4].try_into().expect("4 bytes")),
            text_offset: u64_at(8),
            image_size: u64_at(16),
            flags: u64_at(24),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal little-endian ELF64 with the given `(paddr, bytes, memsz)`
    /// PT_LOAD segments (file bytes after the headers, in order).
    fn elf(segments: &[(u64, &[u8], u64)]) -> Vec<u8> {
        let phoff = 64u64;
        let data_at = phoff + 56 * segments.len() as u64;
        let mut out = Vec::new();
        out.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
        out.extend_from_slice(&2u16.to_le_bytes()); // e_type: EXEC
        out.extend_from_slice(&183u16.to_le_bytes()); // e_machine: AArch64
        out.extend_from_slice(&1u32.to_le_bytes()); // e_version
        out.extend_from_slice(&segments[0].0.to_le_bytes()); // e_entry
        out.extend_from_slice(&phoff.to_le_bytes()); // e_phoff
        out.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        out.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        for v in [64u16, 56, segments.len() as u16, 64, 0, 0] {
            out.extend_from_slice(&v.to_le_bytes()); // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
        }
        let mut offset = data_at;
        for (paddr, bytes, memsz) in segments {
            out.extend_from_slice(&PT_LOAD.0.to_le_bytes());
            out.extend_from_slice(&5u32.to_le_bytes()); // R+X
            for v in [offset, *paddr, *paddr, bytes.len() as u64, *memsz, 8] {
                out.extend_from_slice(&v.to_le_bytes()); // offset, vaddr, paddr, filesz, memsz, align
            }
            offset += bytes.len() as u64;
        }
        for (_, bytes, _) in segments {
            out.extend_from_slice(bytes);
        }
        out
    }

    #[test]
    fn segments_land_at_their_offsets_gaps_zeroed_bss_left_out() {
        let e = elf(&[(0x4008_0000, b"head", 4), (0x4008_0010, b"text", 0x1000)]);
        let (base, image) = elf_to_flat(&e).unwrap();
        assert_eq!(base, 0x4008_0000);
        assert_eq!(image, b"head\0\0\0\0\0\0\0\0\0\0\0\0text");
    }

    #[test]
    fn not_an_elf_is_refused() {
        assert!(matches!(elf_to_flat(b"not an elf at all, really not"), Err(ImageError::NotElf64(_))));
    }

    #[test]
    fn header_is_read_back() {
        let mut img = vec![0u8; 64];
        img[0..4].copy_from_slice(&0x1400_0400u32.to_le_bytes());
        img[8..16].copy_from_slice(&0x80000u64.to_le_bytes());
        img[16..24].copy_from_slice(&0x20_0000u64.to_le_bytes());
        img[24..32].copy_from_slice(&2u64.to_le_bytes());
        img[0x38..0x3c].copy_from_slice(&ARM64_MAGIC);
        let h = Arm64Header::read(&img).unwrap();
        assert_eq!(h, Arm64Header { code0: 0x1400_0400, text_offset: 0x80000, image_size: 0x20_0000, flags: 2 });
        img[0x38] = 0;
        assert_eq!(Arm64Header::read(&img), Err(ImageError::NoArm64Header));
    }
}
