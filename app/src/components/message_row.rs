//! One committed message: sender, local time and body, the body always as text. A shared
//! file shows as a thumbnail (images the server serves inline) or as a card with its name,
//! size and a download link.

use confab_protocol::{FileRef, MessagePosted};
use leptos::prelude::*;

use crate::browser;
use crate::upload::human_size;

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
    let label = format!("{}, {}", message.sender_name, browser::clock(sent_at));
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
            aria-label=label
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
                {match message.file {
                    Some(file) => view! { <FileView file /> }.into_any(),
                    None => view! { <p class="msg-body">{message.body}</p> }.into_any(),
                }}
            </div>
        </article>
    }
}

/// A shared file: an image thumbnail that opens the image, or a download card.
#[component]
fn FileView(
    /// The file.
    file: FileRef,
) -> impl IntoView {
    let href = file.download_path();
    let size = human_size(file.size);
    if file.is_inline_image() {
        let src = href.clone();
        view! {
            <a class="msg-image" href=href target="_blank" rel="noopener" title=file.name.clone()>
                <img src=src alt=file.name.clone() loading="lazy" />
            </a>
            <span class="file-caption">{file.name}" · "{size}</span>
        }
        .into_any()
    } else {
        view! {
            <div class="file-card">
                <svg class="icon file-icon" viewBox="0 0 24 24" aria-hidden="true">
                    <path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z" />
                    <path d="M14 3v5h5" />
                </svg>
                <span class="file-meta">
                    <span class="file-name">{file.name.clone()}</span>
                    <span class="file-size">{size}</span>
                </span>
                <a class="secondary small button-link" href=href download=file.name.clone() aria-label=format!("Download {}", file.name)>
                    "Download"
                </a>
            </div>
        }
        .into_any()
    }
}
