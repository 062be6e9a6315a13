//! `elf2image IN.elf OUT.img`: writes the flat arm64 Image of the
//! guest-mode test kernel ELF (see `gic_devtree::image`) and prints its
//! load address and header fields.
use std::process::ExitCode;

use gic_devtree::image::{elf_to_flat, Arm64Header};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: elf2image IN.elf OUT.img");
        return ExitCode::from(2);
    };
    let run = || -> Result<String, Box<dyn std::error::Error>> {
        let elf = std::fs::read(input)?;
        let (base, image) = elf_to_flat(&elf)?;
        let h = Arm64Header::read(&image)?;
        std::fs::write(output, &image)?;
        Ok(format!(
            "{output}: {} bytes for {base:#x}; text_offset {:#x}, image_size {:#x}, flags {:#x}",
            image.len(),
            h.text_offset,
            h.image_size,
            h.flags
        ))
    };
    match run() {
        Ok(s) => {
            println!("{s}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("elf2image: {e}");
            ExitCode::FAILURE
        }
    }
}
