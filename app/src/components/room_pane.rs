//! The body of an open room: messages, uploads under way, who is typing, the composer, and
//! the member panel. Files dropped anywhere on the conversation are uploaded into it.

use confab_protocol::RoomId;
use leptos::prelude::*;

use crate::chat::use_chat;
use crate::components::composer::{Composer, files_of};
use crate::components::member_list::MemberList;
use crate::components::message_list::MessageList;
use crate::components::typing_indicator::TypingIndicator;
use crate::components::upload_bars::UploadBars;

/// One room's conversation, created afresh whenever another room is opened.
#[component]
pub fn RoomPane(
    /// The room shown.
    room: RoomId,
) -> impl IntoView {
    let chat = use_chat();
    let store = chat.store;
    let (dragging, set_dragging) = signal(false);
    let carries_files = |ev: &leptos::ev::DragEvent| {
        ev.data_transfer()
            .is_some_and(|dt| dt.types().includes(&"Files".into(), 0))
    };
    view! {
        <div class="room-pane" class:with-members=move || store.members_open.get()>
            <section
                class="conversation"
                class:dragging=dragging
                aria-label="Conversation"
                on:dragover=move |ev| {
                    if carries_files(&ev) {
                        // Accepting the drag is what makes the drop possible.
                        ev.prevent_default();
                        set_dragging.set(true);
                    }
                }
                on:dragleave=move |_| set_dragging.set(false)
                on:drop=move |ev| {
                    set_dragging.set(false);
                    let files = ev.data_transfer().and_then(|dt| dt.files());
                    if let Some(list) = files {
                        ev.prevent_default();
                        chat.upload_files(room, files_of(&list));
                    }
                }
            >
                <MessageList room />
                <UploadBars room />
                <TypingIndicator room />
                <Composer room />
            </section>
            <Show when=move || store.members_open.get()>
                <MemberList room />
            </Show>
        </div>
    }
}
