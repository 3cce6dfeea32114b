from django import forms

from .models import Conversation


class ConversationSettingsForm(forms.ModelForm):
    class Meta:
        model = Conversation
        fields = ("system_prompt", "max_output_tokens", "json_output")
        widgets = {"system_prompt": forms.Textarea(attrs={"rows": 3})}

    def clean_max_output_tokens(self):
        value = self.cleaned_data["max_output_tokens"]
        if value is not None and not 16 <= value <= 1_000_000:
            raise forms.ValidationError("Give a number of tokens between 16 and 1,000,000.")
        return value
