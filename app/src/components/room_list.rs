//! The user's rooms with unread badges, as a navigation landmark ("Rooms").

use leptos::prelude::*;

use crate::chat::use_chat;
use crate::components::room_link::RoomLink;
use crate::state::sorted_rooms;

/// The room list.
#[component]
pub fn RoomList() -> impl IntoView {
    let chat = use_chat();
    let store = chat.store;
    let rooms = Memo::new(move |_| {
        store.rooms.with(|r| {
            sorted_rooms(r)
                .into_iter()
                .map(|s| (s.id, s.name, s.kind, s.peer.map(|p| p.id)))
                .collect::<Vec<_>>()
        })
    });
    view! {
        <nav class="room-list" aria-label="Rooms">
            <h2 class="section-title">"Rooms"</h2>
            <Show
                when=move || rooms.with(|r| !r.is_empty())
                fallback=|| view! { <p class="empty-hint">"No rooms yet: create one or browse the directory."</p> }
            >
                <ul>
                    <For
                        each=move || rooms.get()
                        key=|room| room.clone()
                        children=move |(id, name, kind, peer)| view! { <RoomLink id name kind peer /> }
                    />
                </ul>
            </Show>
        </nav>
    }
}
