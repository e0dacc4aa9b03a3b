//! The sidebar: the user's rooms, creating and finding rooms, finding people to message,
//! and who is signed in.

use leptos::prelude::*;

use crate::chat::use_chat;
use crate::components::create_room::CreateRoom;
use crate::components::people_search::PeopleSearch;
use crate::components::room_directory::RoomDirectory;
use crate::components::room_list::RoomList;

/// The left column (a drawer on a phone).
#[component]
pub fn Sidebar() -> impl IntoView {
    let chat = use_chat();
    let store = chat.store;
    let username = move || store.me().map(|u| u.username).unwrap_or_default();
    let initial = move || {
        username()
            .chars()
            .next()
            .map(|c| c.to_uppercase().to_string())
            .unwrap_or_default()
    };
    view! {
        <aside class="sidebar" id="sidebar" aria-label="Sidebar">
            <header class="sidebar-head">
                <span class="brand">"Confab"</span>
                <button
                    type="button"
                    class="icon-button close-sidebar"
                    aria-label="Close room list"
                    on:click=move |_| store.sidebar_open.set(false)
                >
                    "✕"
                </button>
            </header>
            <div class="sidebar-scroll">
                <RoomList />
                <RoomDirectory />
                <PeopleSearch />
                <CreateRoom />
            </div>
            <footer class="me">
                <span class="avatar" aria-hidden="true">{initial}</span>
                <span class="me-name" title="Signed in as">{username}</span>
                <button type="button" class="secondary small" on:click=move |_| chat.sign_out()>
                    "Sign out"
                </button>
            </footer>
        </aside>
    }
}
