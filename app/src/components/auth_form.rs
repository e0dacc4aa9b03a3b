//! Sign in or register: one form, two buttons. Errors from the API (`ApiError`) and from
//! the protocol's own limits are shown under the form.

use confab_protocol::api::Credentials;
use confab_protocol::limits::{check_password, check_username};
use confab_protocol::{ApiError, ErrorCode};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::chat::use_chat;
use crate::state::{Session, sentence};

/// The sign-in / register form.
#[component]
pub fn AuthForm() -> impl IntoView {
    let chat = use_chat();
    let (username, set_username) = signal(String::new());
    let (password, set_password) = signal(String::new());
    let (error, set_error) = signal(None::<String>);
    let (busy, set_busy) = signal(false);

    let notice = move || {
        chat.store.session.with(|s| match s {
            Session::SignedOut { notice } => notice.clone(),
            _ => None,
        })
    };

    let submit = move |register: bool| {
        if busy.get_untracked() {
            return;
        }
        let credentials = Credentials {
            username: username.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
        };
        if register {
            let checked = check_username(&credentials.username)
                .and_then(|()| check_password(&credentials.password));
            if let Err(code) = checked {
                set_error.set(Some(sentence(code.describe())));
                return;
            }
        } else if credentials.username.is_empty() || credentials.password.is_empty() {
            set_error.set(Some("Enter your username and password.".to_owned()));
            return;
        }
        set_busy.set(true);
        set_error.set(None);
        spawn_local(async move {
            if let Err(err) = chat.authenticate(credentials, register).await {
                // On success this form is gone, and so are its signals: hence `try_set`.
                set_busy.try_set(false);
                set_error.try_set(Some(auth_failure(&err, register)));
            }
        });
    };

    view! {
        <main class="auth">
            <form
                class="auth-card"
                aria-labelledby="auth-title"
                on:submit=move |ev| {
                    ev.prevent_default();
                    submit(false);
                }
            >
                <h1 id="auth-title" class="brand">"Confab"</h1>
                <p class="auth-lede">"Sign in, or pick a username and password to register."</p>
                {move || notice().map(|text| view! { <p class="auth-notice" role="status">{sentence(&text)}</p> })}
                <div class="field">
                    <label for="auth-username">"Username"</label>
                    <input
                        id="auth-username"
                        name="username"
                        autocomplete="username"
                        autocapitalize="none"
                        spellcheck="false"
                        prop:value=username
                        on:input=move |ev| set_username.set(event_target_value(&ev))
                    />
                </div>
                <div class="field">
                    <label for="auth-password">"Password"</label>
                    <input
                        id="auth-password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        prop:value=password
                        on:input=move |ev| set_password.set(event_target_value(&ev))
                    />
                </div>
                <p class="form-error" role="alert">{error}</p>
                <div class="auth-actions">
                    <button type="submit" class="primary" disabled=busy>"Sign in"</button>
                    <button type="button" class="secondary" disabled=busy on:click=move |_| submit(true)>
                        "Register"
                    </button>
                </div>
            </form>
        </main>
    }
}

/// What the form says when signing in or registering fails: the server's message, except
/// where the form knows better what the user did.
fn auth_failure(err: &ApiError, register: bool) -> String {
    match err.code {
        ErrorCode::Unauthorized if !register => "Wrong username or password.".to_owned(),
        ErrorCode::RateLimited if !register => {
            "Too many sign-in attempts for this name; wait a minute and try again.".to_owned()
        }
        _ => sentence(&err.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_sign_in_says_what_went_wrong_in_the_users_terms() {
        let refused = ApiError::from(ErrorCode::Unauthorized);
        assert_eq!(auth_failure(&refused, false), "Wrong username or password.");
        assert!(auth_failure(&ApiError::from(ErrorCode::RateLimited), false).contains("wait"));
        let taken = ApiError::from(ErrorCode::UsernameTaken);
        assert_eq!(auth_failure(&taken, true), sentence(&taken.message));
    }
}
