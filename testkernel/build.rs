fn main() {
    println!("cargo:rustc-link-arg=-Timage.ld");
    println!("cargo:rustc-link-arg=-Tmemory.ld");
    println!("cargo:rerun-if-changed=memory.ld");
    // Guest mode: the arm64 Image header goes first (guest.ld).
    if std::env::var_os("CARGO_FEATURE_GUEST").is_some() {
        println!("cargo:rustc-link-arg=-Tguest.ld");
    }
    println!("cargo:rerun-if-changed=guest.ld");
}
