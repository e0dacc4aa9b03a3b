//! The members of the open room, online ones first, each with a presence dot and a way
//! to message them directly.

use confab_protocol::RoomId;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::chat::use_chat;

/// The member panel.
#[component]
pub fn MemberList(
    /// The room shown.
    room: RoomId,
) -> impl IntoView {
    let chat = use_chat();
    let store = chat.store;
    let message = move |user| {
        spawn_local(async move {
            if let Err(message) = chat.start_direct(user).await {
                store.notice.set(Some(message));
            }
        });
    };
    // In a direct conversation the other member is who you are already messaging.
    let direct = move || {
        store.rooms.with(|r| {
            r.get(&room)
                .is_some_and(|s| s.kind == confab_protocol::api::RoomKind::Direct)
        })
    };
    let members = move || {
        let me = store.me().map(|u| u.id);
        let mut list: Vec<(confab_protocol::UserId, String, bool, bool)> =
            store.members.with(|m| {
                m.get(&room)
                    .map(|members| {
                        members
                            .iter()
                            .map(|member| {
                                let mine = Some(member.id) == me;
                                let online = mine || store.online.with(|o| o.contains(&member.id));
                                (member.id, member.username.clone(), online, mine)
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            });
        list.sort_by_cached_key(|(_, name, online, _)| (!online, name.to_lowercase()));
        list
    };
    view! {
        <aside id="member-panel" class="members" aria-label="Members">
            <div class="members-head">
                <h2 class="section-title">"Members"</h2>
                <button
                    type="button"
                    class="icon-button"
                    aria-label="Close members"
                    on:click=move |_| store.members_open.set(false)
                >
                    "✕"
                </button>
            </div>
            <ul class="member-list">
                <For
                    each=members
                    key=|member| member.clone()
                    children=move |(id, name, online, mine)| {
                        let label = format!("Message {name}");
                        view! {
                            <li class="member" class:online=online>
                                <span class="presence" aria-hidden="true"></span>
                                <span class="member-name">{name}</span>
                                {mine.then(|| view! { <span class="you">"(you)"</span> })}
                                <span class="sr-only">{if online { ", online" } else { ", offline" }}</span>
                                {(!mine && !direct()).then(|| view! {
                                    <button
                                        type="button"
                                        class="link small member-message"
                                        aria-label=label
                                        on:click=move |_| message(id)
                                    >
                                        "Message"
                                    </button>
                                })}
                            </li>
                        }
                    }
                />
            </ul>
        </aside>
    }
}
