//! Uploads under way in the open room: one progress bar each, for this tab's uploads (from
//! the browser's upload progress) and everyone else's (from `file_progress` frames). A
//! failed upload says why.

use confab_protocol::RoomId;
use leptos::prelude::*;

use crate::chat::use_chat;
use crate::state::{UploadBar, sentence};
use crate::upload::{human_size, percent};

/// The progress bars of a room's uploads.
#[component]
pub fn UploadBars(
    /// The room shown.
    room: RoomId,
) -> impl IntoView {
    let chat = use_chat();
    let bars = move || {
        chat.store
            .uploads
            .with(|u| u.get(&room).cloned().unwrap_or_default())
    };
    view! {
        <ul class="uploads" aria-label="Uploads">
            <For
                each=bars
                key=|bar| bar.clone()
                children=move |bar: UploadBar| {
                    let key = bar.key.clone();
                    let who = bar.uploader.clone().unwrap_or_else(|| "You".to_owned());
                    let done = percent(bar.bytes, bar.total);
                    let label = format!("Uploading {}", bar.file_name);
                    let amount = match bar.total {
                        Some(total) => format!("{} of {}", human_size(bar.bytes), human_size(total)),
                        None => human_size(bar.bytes),
                    };
                    let mine = bar.uploader.is_none();
                    let failed = bar.failed.clone();
                    let has_failed = failed.is_some();
                    view! {
                        <li class="upload" class:failed=has_failed>
                            <div class="upload-head">
                                <span class="upload-name">{bar.file_name.clone()}</span>
                                <span class="upload-who">{who}</span>
                            </div>
                            {match failed {
                                Some(reason) => view! {
                                    <p class="form-error" role="alert">
                                        {format!("Upload failed: {}", sentence(&reason))}
                                    </p>
                                }
                                .into_any(),
                                None => view! {
                                    <progress
                                        max="100"
                                        value=done.map(|p| p.to_string())
                                        aria-label=label
                                    ></progress>
                                    <span class="upload-amount">
                                        {amount}
                                        {done.map(|p| format!(" · {p} %"))}
                                    </span>
                                }
                                .into_any(),
                            }}
                            {(mine || bar.failed.is_some())
                                .then(|| {
                                    let text = if bar.failed.is_some() { "Dismiss" } else { "Cancel" };
                                    view! {
                                        <button
                                            type="button"
                                            class="link small"
                                            aria-label=format!("{text} {}", bar.file_name)
                                            on:click=move |_| chat.forget_upload(room, &key)
                                        >
                                            {text}
                                        </button>
                                    }
                                })}
                        </li>
                    }
                }
            />
        </ul>
    }
}
