//! "bob is typing…": who is typing in the open room, from `typing` frames that lapse by
//! themselves.

use confab_protocol::RoomId;
use leptos::prelude::*;

use crate::chat::use_chat;
use crate::state::typing_text;

/// The typing line under the messages (always present, so the layout does not jump).
#[component]
pub fn TypingIndicator(
    /// The room shown.
    room: RoomId,
) -> impl IntoView {
    let store = use_chat().store;
    let text = move || {
        let names: Vec<String> = store.typing.with(|t| {
            t.get(&room)
                .map(|m| m.values().map(|typist| typist.username.clone()).collect())
                .unwrap_or_default()
        });
        typing_text(&names)
    };
    view! {
        <div class="typing" role="status" aria-live="polite" aria-label="Typing">
            {move || text().map(|text| view! {
                <span class="typing-dots" aria-hidden="true"><i></i><i></i><i></i></span>
                <span>{text}</span>
            })}
        </div>
    }
}
