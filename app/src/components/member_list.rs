//! The members of the open room, online ones first, each with a presence dot.

use confab_protocol::RoomId;
use leptos::prelude::*;

use crate::chat::use_chat;

/// The member panel.
#[component]
pub fn MemberList(
    /// The room shown.
    room: RoomId,
) -> impl IntoView {
    let store = use_chat().store;
    let members = move || {
        let me = store.me().map(|u| u.id);
        let mut list: Vec<(String, bool, bool)> = store.members.with(|m| {
            m.get(&room)
                .map(|members| {
                    members
                        .iter()
                        .map(|member| {
                            let mine = Some(member.id) == me;
                            let online = mine || store.online.with(|o| o.contains(&member.id));
                            (member.username.clone(), online, mine)
                        })
                        .collect()
                })
                .unwrap_or_default()
        });
        list.sort_by_cached_key(|(name, online, _)| (!online, name.to_lowercase()));
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
                    children=move |(name, online, mine)| {
                        view! {
                            <li class="member" class:online=online>
                                <span class="presence" aria-hidden="true"></span>
                                <span class="member-name">{name}</span>
                                {mine.then(|| view! { <span class="you">"(you)"</span> })}
                                <span class="sr-only">{if online { ", online" } else { ", offline" }}</span>
                            </li>
                        }
                    }
                />
            </ul>
        </aside>
    }
}
