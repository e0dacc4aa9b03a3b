//! A message the user sent that the server has not confirmed: greyed while on its way,
//! with the reason and "Retry" / "Discard" when the server refused it.

use confab_protocol::RoomId;
use leptos::prelude::*;

use crate::chat::use_chat;
use crate::state::PendingMessage;

/// A pending send (an `<article>` like the messages).
#[component]
pub fn PendingRow(
    /// The room it was sent to.
    room: RoomId,
    /// The send.
    pending: PendingMessage,
) -> impl IntoView {
    let chat = use_chat();
    let PendingMessage {
        client_msg_id,
        body,
        failed,
    } = pending;
    let failed_view = failed.map(|reason| {
        let retry_id = client_msg_id.clone();
        let discard_id = client_msg_id.clone();
        view! {
            <p class="msg-failed" role="alert">
                <span>"Not sent: " {reason}</span>
                <button type="button" class="link" on:click=move |_| chat.retry_message(room, retry_id.clone())>
                    "Retry"
                </button>
                <button type="button" class="link" on:click=move |_| chat.discard_message(room, discard_id.clone())>
                    "Discard"
                </button>
            </p>
        }
    });
    let is_failed = failed_view.is_some();
    view! {
        <article class="msg mine continued pending" class:failed=is_failed data-pending=client_msg_id.0.clone()>
            <span class="avatar" aria-hidden="true"></span>
            <div class="msg-main">
                <header class="msg-meta">
                    <span class="msg-status">{if is_failed { "Failed" } else { "Sending…" }}</span>
                </header>
                <p class="msg-body">{body}</p>
                {failed_view}
            </div>
        </article>
    }
}
