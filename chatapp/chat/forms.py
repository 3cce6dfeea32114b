from django import forms

from .models import Conversation
from .services import MAX_MESSAGE_CHARS

# It goes with every request, as a message does: one past any model's
# context failed every send of the conversation.
MAX_SYSTEM_PROMPT_CHARS = MAX_MESSAGE_CHARS


class ConversationSettingsForm(forms.ModelForm):
    class Meta:
        model = Conversation
        fields = ("system_prompt", "max_output_tokens", "json_output")
        widgets = {
            "system_prompt": forms.Textarea(attrs={"rows": 3, "maxlength": MAX_SYSTEM_PROMPT_CHARS})
        }

    def clean_system_prompt(self):
        value = self.cleaned_data["system_prompt"]
        if len(value) > MAX_SYSTEM_PROMPT_CHARS:
            raise forms.ValidationError(
                f"Keep the system prompt to {MAX_SYSTEM_PROMPT_CHARS:,} characters at most "
                f"(it has {len(value):,})."
            )
        return value

    def clean_max_output_tokens(self):
        value = self.cleaned_data["max_output_tokens"]
        if value is not None and not 16 <= value <= 1_000_000:
            raise forms.ValidationError("Give a number of tokens between 16 and 1,000,000.")
        return value
