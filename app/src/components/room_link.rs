//! One entry of the room list: a link that opens the room, with its unread badge, and for
//! a direct conversation the other user's presence dot.

use confab_protocol::api::{RoomKind, RoomSummary};
use confab_protocol::{RoomId, UserId};
use leptos::prelude::*;

use crate::chat::use_chat;

/// One room in the list: a link that opens it, with its unread count.
#[component]
pub fn RoomLink(
    /// The room.
    id: RoomId,
    /// Its name (for a direct room, the other user's).
    name: String,
    /// Group or direct.
    kind: RoomKind,
    /// A direct room's other user.
    peer: Option<UserId>,
) -> impl IntoView {
    let chat = use_chat();
    let store = chat.store;
    let active = move || store.current.get() == Some(id);
    let unread = move || {
        if active() {
            return 0;
        }
        store
            .rooms
            .with(|r| r.get(&id).map_or(0, RoomSummary::unread))
    };
    let peer_online = move || peer.is_some_and(|p| store.online.with(|o| o.contains(&p)));
    let sigil = match (kind, peer) {
        (RoomKind::Direct, Some(_)) => view! {
            <span class="room-sigil" class:online=peer_online aria-hidden="true">
                <span class="presence"></span>
            </span>
        }
        .into_any(),
        (RoomKind::Direct, None) => {
            view! { <span class="room-sigil" aria-hidden="true">"@"</span> }.into_any()
        }
        (RoomKind::Group, _) => {
            view! { <span class="room-sigil" aria-hidden="true">"#"</span> }.into_any()
        }
    };
    let presence_text = move || {
        peer.map(|_| {
            if peer_online() {
                ", online"
            } else {
                ", offline"
            }
        })
    };
    view! {
        <li>
            <a
                href=format!("#room/{id}")
                class="room-link"
                class:active=active
                class:unread=move || { unread() > 0 }
                aria-current=move || active().then_some("page")
                on:click=move |ev| {
                    ev.prevent_default();
                    chat.open_room(id);
                }
            >
                {sigil}
                <span class="room-name">{name}</span>
                <span class="sr-only">{presence_text}</span>
                {move || {
                    let n = unread();
                    (n > 0)
                        .then(|| {
                            let label = if n == 1 { "1 unread message".to_owned() } else { format!("{n} unread messages") };
                            view! {
                                <span class="badge" aria-label=label>
                                    {if n > 99 { "99+".to_owned() } else { n.to_string() }}
                                </span>
                            }
                        })
                }}
            </a>
        </li>
    }
}
