//! The main column: a header naming the open room (with the connection banner, the member
//! panel toggle and "Leave"), then the room itself or a welcome when none is open.

use confab_protocol::api::RoomKind;
use leptos::prelude::*;

use crate::chat::use_chat;
use crate::components::connection_banner::ConnectionBanner;
use crate::components::room_pane::RoomPane;

/// The open room, or a hint to open one.
#[component]
pub fn RoomView() -> impl IntoView {
    let chat = use_chat();
    let store = chat.store;
    let room = Memo::new(move |_| {
        let id = store.current.get()?;
        store
            .rooms
            .with(|r| r.get(&id).map(|s| (s.id, s.name.clone(), s.kind)))
    });
    let total_unread = move || {
        let current = store.current.get();
        store.rooms.with(|r| {
            r.values()
                .filter(|s| Some(s.id) != current)
                .map(|s| s.unread())
                .sum::<i64>()
        })
    };
    let member_count = move || {
        let id = store.current.get()?;
        store.members.with(|m| m.get(&id).map(Vec::len))
    };

    view! {
        <main class="main">
            <header class="room-header">
                <button
                    type="button"
                    class="icon-button menu"
                    aria-label="Show rooms"
                    aria-controls="sidebar"
                    aria-expanded=move || store.sidebar_open.get().to_string()
                    on:click=move |_| store.sidebar_open.update(|open| *open = !*open)
                >
                    <span class="menu-icon" aria-hidden="true"></span>
                    {move || {
                        let n = total_unread();
                        (n > 0).then(|| view! { <span class="menu-badge" aria-label="unread messages in other rooms">{n}</span> })
                    }}
                </button>
                <h1 class="room-title">
                    {move || match room.get() {
                        Some((_, name, RoomKind::Group)) => format!("# {name}"),
                        Some((_, name, RoomKind::Direct)) => format!("@ {name}"),
                        None => "Confab".to_owned(),
                    }}
                </h1>
                <ConnectionBanner />
                {move || {
                    room.get()
                        .map(|(id, _, kind)| {
                            view! {
                                <div class="room-actions">
                                    <button
                                        type="button"
                                        class="secondary small"
                                        aria-expanded=move || store.members_open.get().to_string()
                                        aria-controls="member-panel"
                                        on:click=move |_| store.members_open.update(|open| *open = !*open)
                                    >
                                        "Members"
                                        {move || member_count().map(|n| view! { <span class="count">{n}</span> })}
                                    </button>
                                    {(kind == RoomKind::Group)
                                        .then(|| {
                                            view! {
                                                <button type="button" class="secondary small danger" on:click=move |_| chat.leave_room(id)>
                                                    "Leave"
                                                </button>
                                            }
                                        })}
                                </div>
                            }
                        })
                }}
            </header>
            {move || match room.get().map(|(id, _, _)| id) {
                Some(id) => view! { <RoomPane room=id /> }.into_any(),
                None => view! {
                    <div class="welcome">
                        <h2>"Welcome to Confab"</h2>
                        <p>"Pick a room from the list, create one, or browse the directory to join one."</p>
                        <button type="button" class="primary show-rooms" on:click=move |_| store.sidebar_open.set(true)>
                            "Open the room list"
                        </button>
                    </div>
                }
                .into_any(),
            }}
        </main>
    }
}
