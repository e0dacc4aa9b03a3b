//! The root component: creates the controller, restores the session and shows either the
//! sign-in form or the chat.

use confab_protocol::api::RoomSummary;
use leptos::prelude::*;

use crate::browser;
use crate::chat::Chat;
use crate::components::auth_form::AuthForm;
use crate::components::chat_screen::ChatScreen;
use crate::state::Session;

/// Which screen the session calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Screen {
    Checking,
    SignIn,
    Chat,
}

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    let chat = Chat::new();
    provide_context(chat);
    chat.restore_session();
    let store = chat.store;

    let screen = Memo::new(move |_| match store.session.get() {
        Session::Checking => Screen::Checking,
        Session::SignedOut { .. } => Screen::SignIn,
        Session::SignedIn(_) => Screen::Chat,
    });

    // Unread messages in the tab's title, so a background tab shows activity.
    Effect::new(move |_| {
        let unread: i64 = store
            .rooms
            .with(|rooms| rooms.values().map(RoomSummary::unread).sum());
        let title = if unread > 0 {
            format!("({unread}) Confab")
        } else {
            "Confab".to_owned()
        };
        browser::set_title(&title);
    });

    move || match screen.get() {
        Screen::Checking => view! {
            <div class="splash" role="status">
                <span class="brand">"Confab"</span>
                <span class="splash-text">"Loading…"</span>
            </div>
        }
        .into_any(),
        Screen::SignIn => view! { <AuthForm /> }.into_any(),
        Screen::Chat => view! { <ChatScreen /> }.into_any(),
    }
}
