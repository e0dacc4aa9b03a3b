//! Confab browser client.
fn main() {}
