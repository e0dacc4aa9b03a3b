//! The signed-in layout: the sidebar with the rooms, the open room, and global notices.

use leptos::prelude::*;

use crate::chat::use_chat;
use crate::components::notice::Notice;
use crate::components::room_view::RoomView;
use crate::components::sidebar::Sidebar;

/// Sidebar and room side by side (on a phone, the sidebar slides over the room).
#[component]
pub fn ChatScreen() -> impl IntoView {
    let store = use_chat().store;
    // Escape closes the room list drawer (phone width).
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && store.sidebar_open.get_untracked() {
            store.sidebar_open.set(false);
        }
    });
    on_cleanup(move || escape.remove());
    view! {
        <div class="layout" class:sidebar-open=move || store.sidebar_open.get()>
            <Sidebar />
            <div class="scrim" aria-hidden="true" on:click=move |_| store.sidebar_open.set(false)></div>
            <RoomView />
        </div>
        <Notice />
    }
}
