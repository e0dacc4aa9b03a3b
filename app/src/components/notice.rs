//! A dismissable notice for problems that belong to no form: a page that failed to load, a
//! refused frame. It clears itself after a while.

use std::time::Duration;

use leptos::prelude::*;

use crate::chat::use_chat;
use crate::state::sentence;

/// How long a notice stays up.
const NOTICE_FOR: Duration = Duration::from_secs(8);

/// The notice toast.
#[component]
pub fn Notice() -> impl IntoView {
    let notice = use_chat().store.notice;
    Effect::new(move |_| {
        if let Some(text) = notice.get() {
            set_timeout(
                move || {
                    if notice.get_untracked().as_deref() == Some(text.as_str()) {
                        notice.set(None);
                    }
                },
                NOTICE_FOR,
            );
        }
    });
    move || {
        notice.get().map(|text| {
            view! {
                <div class="notice" role="alert">
                    <span>{sentence(&text)}</span>
                    <button type="button" class="icon-button" aria-label="Dismiss" on:click=move |_| notice.set(None)>
                        "✕"
                    </button>
                </div>
            }
        })
    }
}
