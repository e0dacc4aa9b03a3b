//! The body of an open room: messages, who is typing, the composer, and the member panel.

use confab_protocol::RoomId;
use leptos::prelude::*;

use crate::chat::use_chat;
use crate::components::composer::Composer;
use crate::components::member_list::MemberList;
use crate::components::message_list::MessageList;
use crate::components::typing_indicator::TypingIndicator;

/// One room's conversation, created afresh whenever another room is opened.
#[component]
pub fn RoomPane(
    /// The room shown.
    room: RoomId,
) -> impl IntoView {
    let store = use_chat().store;
    view! {
        <div class="room-pane" class:with-members=move || store.members_open.get()>
            <section class="conversation" aria-label="Conversation">
                <MessageList room />
                <TypingIndicator room />
                <Composer room />
            </section>
            <Show when=move || store.members_open.get()>
                <MemberList room />
            </Show>
        </div>
    }
}
