//! Entry point of the Confab browser client: mounts the root component and nothing else.
//! Everything the client does lives in the library (`lib.rs`).

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(confab_app::App);
}
