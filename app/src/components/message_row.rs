//! One committed message: sender, local time and body, the body always as text.

use confab_protocol::MessagePosted;
use leptos::prelude::*;

use crate::browser;

/// A message in the list (an `<article>`), preceded by a day divider when it starts a day.
#[component]
pub fn MessageRow(
    /// The message.
    message: MessagePosted,
    /// Whether the signed-in user sent it.
    mine: bool,
    /// Whether it starts a group of messages by one sender (shows who and when).
    show_header: bool,
    /// Whether it is the first message of a local calendar day.
    new_day: bool,
) -> impl IntoView {
    let hue = (message.sender.0.unsigned_abs() * 47) % 360;
    let initial = message
        .sender_name
        .chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default();
    let sent_at = message.sent_at;
    view! {
        {new_day
            .then(|| {
                view! {
                    <div class="day-divider" role="separator">
                        <span>{browser::day_label(sent_at)}</span>
                    </div>
                }
            })}
        <article
            class="msg"
            class:mine=mine
            class:continued=!show_header
            data-seq=message.seq.0.to_string()
            style=format!("--hue: {hue}")
        >
            <span class="avatar" aria-hidden="true">{show_header.then_some(initial)}</span>
            <div class="msg-main">
                <header class="msg-meta">
                    <span class="msg-sender">{message.sender_name}</span>
                    <time class="msg-time" datetime=browser::iso(sent_at) title=browser::full_date(sent_at)>
                        {browser::clock(sent_at)}
                    </time>
                </header>
                <p class="msg-body">{message.body}</p>
            </div>
        </article>
    }
}
