//! Chat prompts for the families this crate runs, recognised from `tokenizer.chat_template`
//! (no Jinja engine: the template text is only inspected to pick the family).
//!
//! | family | one turn | generation prompt | end of turn |
//! |---|---|---|---|
//! | [`ChatFamily::Phi3`] (Phi-3, Phi-3.5, Phi-3-medium) | `<\|role\|>\n{content}<\|end\|>\n` | `<\|assistant\|>\n` | `<\|end\|>` |
//! | [`ChatFamily::Phi4Mini`] | `<\|role\|>{content}<\|end\|>` | `<\|assistant\|>` | `<\|end\|>` |
//! | [`ChatFamily::ChatMl`] (SmolLM2, Qwen …) | `<\|im_start\|>role\n{content}<\|im_end\|>\n` | `<\|im_start\|>assistant\n` | `<\|im_end\|>` |
//!
//! Recognition: a template mentioning `<|im_start|>` is ChatML; one with `<|assistant|>` and
//! `<|end|>` is Phi-4-mini when it glues the role tag to the content
//! (`message['role'] + '|>' + message['content']`), Phi-3 otherwise; anything else is
//! [`TokenizerError::UnknownChatTemplate`].
//!
//! ChatML templates that write a fixed system turn when the conversation has none (SmolLM2's:
//! `You are a helpful AI assistant named SmolLM, trained by Hugging Face`) are detected by the
//! literal `<|im_start|>system\n…<|im_end|>` in the template; the rendering then injects it the
//! same way (only when the first message is not a system message), so the output equals what
//! the template itself renders with `add_generation_prompt = true`.
//!
//! Differences from running the template, by design: the BOS token is never written as text
//! (encode the prompt with [`super::EncodeOptions::add_special`] so the vocabulary adds it
//! once); the first Phi-3 release's template ignores system messages, here they are written as
//! a `<|system|>` turn (llama.cpp's built-in Phi-3 format does the same); without a generation
//! prompt nothing (no EOS text) is appended.

use super::TokenizerError;

/// A chat template family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChatFamily {
    /// `<|user|>\n…<|end|>\n<|assistant|>\n`.
    Phi3,
    /// `<|user|>…<|end|><|assistant|>`.
    Phi4Mini,
    /// `<|im_start|>user\n…<|im_end|>\n<|im_start|>assistant\n`.
    ChatMl,
}

/// Who speaks a turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Instructions for the assistant.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The role's name in the templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One turn of a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// Who speaks.
    pub role: Role,
    /// What is said.
    pub content: &'a str,
}

impl<'a> Message<'a> {
    /// A system message.
    pub fn system(content: &'a str) -> Self {
        Message {
            role: Role::System,
            content,
        }
    }
    /// A user message.
    pub fn user(content: &'a str) -> Self {
        Message {
            role: Role::User,
            content,
        }
    }
    /// An assistant message.
    pub fn assistant(content: &'a str) -> Self {
        Message {
            role: Role::Assistant,
            content,
        }
    }
}

/// A recognised chat format (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChatTemplate<'t> {
    family: ChatFamily,
    default_system: Option<&'t str>,
}

impl<'t> ChatTemplate<'t> {
    /// Recognises the family of a Jinja chat template (`tokenizer.chat_template`).
    pub fn detect(template: &'t str) -> Result<Self, TokenizerError> {
        if template.contains("<|im_start|>") {
            return Ok(ChatTemplate {
                family: ChatFamily::ChatMl,
                default_system: chatml_default_system(template),
            });
        }
        if template.contains("<|assistant|>") && template.contains("<|end|>") {
            let glued = template.contains("message['role'] + '|>' + message['content']")
                || template.contains("message[\"role\"] + \"|>\" + message[\"content\"]");
            let family = if glued {
                ChatFamily::Phi4Mini
            } else {
                ChatFamily::Phi3
            };
            return Ok(ChatTemplate {
                family,
                default_system: None,
            });
        }
        Err(TokenizerError::UnknownChatTemplate)
    }

    /// A family's format without a template (no default system message).
    pub fn from_family(family: ChatFamily) -> Self {
        ChatTemplate {
            family,
            default_system: None,
        }
    }

    /// The family.
    pub fn family(&self) -> ChatFamily {
        self.family
    }

    /// The system message the template injects when the conversation has none.
    pub fn default_system(&self) -> Option<&'t str> {
        self.default_system
    }

    /// The text of the family's end-of-turn token (a stop token for generation).
    pub fn end_of_turn(&self) -> &'static str {
        match self.family {
            ChatFamily::Phi3 | ChatFamily::Phi4Mini => "<|end|>",
            ChatFamily::ChatMl => "<|im_end|>",
        }
    }

    /// Calls `piece` with the prompt's text, piece by piece, in order.
    pub fn for_each_piece(
        &self,
        messages: &[Message<'_>],
        add_generation_prompt: bool,
        mut piece: impl FnMut(&str),
    ) {
        let inject = match (self.default_system, messages.first()) {
            (Some(sys), Some(first)) if first.role != Role::System => Some(sys),
            _ => None,
        };
        let injected = inject.map(Message::system);
        for m in injected.iter().chain(messages) {
            match self.family {
                ChatFamily::Phi3 => {
                    for p in ["<|", m.role.as_str(), "|>\n", m.content, "<|end|>\n"] {
                        piece(p);
                    }
                }
                ChatFamily::Phi4Mini => {
                    for p in ["<|", m.role.as_str(), "|>", m.content, "<|end|>"] {
                        piece(p);
                    }
                }
                ChatFamily::ChatMl => {
                    for p in [
                        "<|im_start|>",
                        m.role.as_str(),
                        "\n",
                        m.content,
                        "<|im_end|>\n",
                    ] {
                        piece(p);
                    }
                }
            }
        }
        if add_generation_prompt {
            piece(match self.family {
                ChatFamily::Phi3 => "<|assistant|>\n",
                ChatFamily::Phi4Mini => "<|assistant|>",
                ChatFamily::ChatMl => "<|im_start|>assistant\n",
            });
        }
    }

    /// Length in bytes of the rendered prompt.
    pub fn rendered_len(&self, messages: &[Message<'_>], add_generation_prompt: bool) -> usize {
        let mut n = 0usize;
        self.for_each_piece(messages, add_generation_prompt, |p| {
            n = n.saturating_add(p.len())
        });
        n
    }

    /// Renders the prompt into `out` ([`TokenizerError::OutputTooSmall`] with the full length
    /// when it does not fit).
    pub fn render<'o>(
        &self,
        messages: &[Message<'_>],
        add_generation_prompt: bool,
        out: &'o mut [u8],
    ) -> Result<&'o str, TokenizerError> {
        let needed = self.rendered_len(messages, add_generation_prompt);
        if needed > out.len() {
            return Err(TokenizerError::OutputTooSmall {
                needed,
                capacity: out.len(),
            });
        }
        let mut n = 0usize;
        self.for_each_piece(messages, add_generation_prompt, |p| {
            if let Some(dst) = out.get_mut(n..n + p.len()) {
                dst.copy_from_slice(p.as_bytes());
            }
            n += p.len();
        });
        Ok(core::str::from_utf8(out.get(..n).unwrap_or(&[])).unwrap_or(""))
    }
}

/// The literal system turn a ChatML template writes when there is none.
fn chatml_default_system(template: &str) -> Option<&str> {
    const OPEN: &str = "<|im_start|>system\n";
    let mut rest = template;
    while let Some(at) = rest.find(OPEN) {
        let after = rest.get(at + OPEN.len()..)?;
        if let Some(end) = after.find("<|im_end|>") {
            let content = after.get(..end)?;
            if !content.is_empty() && !content.contains(['\'', '"', '{', '}', '+']) {
                return Some(content);
            }
        }
        rest = after;
    }
    None
}
