//! The message list of the open room (`role="log"`): messages in seq order, older pages
//! fetched when the user scrolls to the top (keeping what they were reading in place), and
//! kept scrolled to the newest message while the user is at the bottom. Scrolled up, the
//! room is not marked read, and a button says how many new messages wait below.

use confab_protocol::RoomId;
use confab_protocol::api::RoomSummary;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::browser;
use crate::chat::use_chat;
use crate::components::message_row::MessageRow;
use crate::components::pending_row::PendingRow;
use crate::state::Row;

/// Within this many pixels of the bottom, the list follows new messages.
const STICK_PX: i32 = 120;
/// Within this many pixels of the top, the previous page is fetched.
const PREFETCH_PX: i32 = 200;

/// The messages of one room.
#[component]
pub fn MessageList(
    /// The room shown.
    room: RoomId,
) -> impl IntoView {
    let chat = use_chat();
    let store = chat.store;
    let log = NodeRef::<html::Div>::new();
    let near_bottom = StoredValue::new(true);
    // Mirrors `near_bottom` for the rest of the app (marking read, the jump button).
    let at_bottom = move |yes: bool| {
        near_bottom.set_value(yes);
        if store.reading_newest.get_untracked() != yes {
            store.reading_newest.set(yes);
        }
    };
    at_bottom(true);
    let unread = move || {
        store
            .rooms
            .with(|r| r.get(&room).map_or(0, RoomSummary::unread))
    };
    let jump_to_newest = move |_| {
        if let Some(el) = log.get_untracked() {
            el.set_scroll_top(el.scroll_height());
            at_bottom(true);
        }
    };

    let rows = Memo::new(move |_| {
        let me = store.me().map(|u| u.id);
        store.timelines.with(|t| {
            t.get(&room)
                .map(|t| t.rows(me, browser::local_day))
                .unwrap_or_default()
        })
    });
    let edge = move || {
        store
            .timelines
            .with(|t| t.get(&room).map(|t| (t.has_older(), t.loading_older())))
    };
    let room_name = move || {
        store
            .rooms
            .with(|r| r.get(&room).map(|s| s.name.clone()).unwrap_or_default())
    };

    // Fetches the previous page and, once it is in the page, puts the message that was at
    // the top back where it was on screen.
    let load_older = move || {
        let wanted = store.timelines.with_untracked(|t| {
            t.get(&room)
                .filter(|t| t.has_older() && !t.loading_older())
                .and_then(|t| t.oldest())
        });
        let (Some(oldest), Some(el)) = (wanted, log.get_untracked()) else {
            return;
        };
        let selector = format!("[data-seq=\"{oldest}\"]");
        let anchor = row_offset(&el, &selector).map(|top| top - el.scroll_top());
        spawn_local(async move {
            chat.load_older(room).await;
            request_animation_frame(move || {
                let Some(el) = log.get_untracked() else {
                    return;
                };
                if let (Some(offset), Some(top)) = (anchor, row_offset(&el, &selector)) {
                    el.set_scroll_top(top - offset);
                }
                at_bottom(distance_to_bottom(&el) < STICK_PX);
            });
        });
    };

    let on_scroll = move |_| {
        let Some(el) = log.get_untracked() else {
            return;
        };
        at_bottom(distance_to_bottom(&el) < STICK_PX);
        if el.scroll_top() < PREFETCH_PX {
            load_older();
        }
    };
    // At the very top a wheel turn scrolls nothing, so no scroll event comes: after a
    // failed fetch this is how "scroll up again" retries.
    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        if ev.delta_y() < 0.0
            && log
                .get_untracked()
                .is_some_and(|el| el.scroll_top() < PREFETCH_PX)
        {
            load_older();
        }
    };

    // After the rows change: follow new messages if the user was at the bottom (or just
    // sent one), and fetch older pages while the list does not fill the screen.
    Effect::new(move |_| {
        let sending = rows.with(|rows| matches!(rows.last(), Some(Row::Pending(_))));
        request_animation_frame(move || {
            let Some(el) = log.get_untracked() else {
                return;
            };
            if sending || near_bottom.get_value() {
                el.set_scroll_top(el.scroll_height());
                at_bottom(true);
            }
            if el.scroll_height() <= el.client_height() + PREFETCH_PX {
                load_older();
            }
        });
    });

    view! {
        <div
            class="messages"
            role="log"
            aria-label="Messages"
            tabindex="0"
            node_ref=log
            on:scroll=on_scroll
            on:wheel=on_wheel
        >
            <div class="history-edge">
                {move || match edge() {
                    None => Some(view! { <p class="loading">"Loading messages…"</p> }.into_any()),
                    Some((_, true)) => {
                        Some(view! { <p class="loading">"Loading older messages…"</p> }.into_any())
                    }
                    Some((false, false)) => Some(
                        view! {
                            <p class="beginning">
                                "This is the beginning of " <strong>{room_name}</strong> "."
                            </p>
                        }
                        .into_any(),
                    ),
                    // Scrolling up fetches it; the button is for keyboards and for a retry
                    // after a failed fetch.
                    Some((true, false)) => Some(
                        view! {
                            <button type="button" class="link load-older" on:click=move |_| load_older()>
                                "Load older messages"
                            </button>
                        }
                        .into_any(),
                    ),
                }}
            </div>
            <For
                each=move || rows.get()
                key=Row::key
                children=move |row| match row {
                    Row::Posted { message, mine, show_header, new_day } => {
                        view! { <MessageRow message mine show_header new_day /> }.into_any()
                    }
                    Row::Pending(pending) => view! { <PendingRow room pending /> }.into_any(),
                }
            />
            {move || {
                let n = unread();
                (n > 0 && !store.reading_newest.get())
                    .then(|| {
                        view! {
                            <button type="button" class="jump-newest" on:click=jump_to_newest>
                                {if n == 1 { "1 new message ↓".to_owned() } else { format!("{n} new messages ↓") }}
                            </button>
                        }
                    })
            }}
        </div>
    }
}

fn distance_to_bottom(el: &web_sys::HtmlDivElement) -> i32 {
    el.scroll_height() - el.scroll_top() - el.client_height()
}

/// The offset from the top of the list's content of the row matching `selector`.
fn row_offset(el: &web_sys::HtmlDivElement, selector: &str) -> Option<i32> {
    let row = el.query_selector(selector).ok()??;
    let row: web_sys::HtmlElement = row.dyn_into().ok()?;
    Some(row.offset_top())
}
