//! `gicv-runner`: see `gicv-runner --help`.
use clap::Parser;

fn main() {
    std::process::exit(runner::cli::main(runner::cli::Cli::parse()));
}
