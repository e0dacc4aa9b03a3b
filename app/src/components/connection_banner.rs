//! The connection banner: "Connecting…", "Online" or "Reconnecting…", announced politely to
//! screen readers (`role="status"`), with a button to skip the reconnect wait.

use leptos::prelude::*;

use crate::chat::use_chat;
use crate::state::Connection;

/// Where the WebSocket stands.
#[component]
pub fn ConnectionBanner() -> impl IntoView {
    let chat = use_chat();
    let connection = chat.store.connection;
    let class = move || match connection.get() {
        Connection::Online => "banner online",
        Connection::Connecting => "banner connecting",
        Connection::Reconnecting => "banner reconnecting",
        Connection::Idle => "banner idle",
    };
    view! {
        <div class="connection">
            <div class=class role="status" aria-live="polite" aria-label="Connection">
                <span class="banner-dot" aria-hidden="true"></span>
                <span class="banner-text">{move || connection.get().label()}</span>
            </div>
            <Show when=move || connection.get() == Connection::Reconnecting>
                <button type="button" class="link retry" on:click=move |_| chat.reconnect_now()>
                    "Retry now"
                </button>
            </Show>
        </div>
    }
}
