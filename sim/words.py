"""What people text, in the program's five languages (the service's own word lists are in
``notifiers.inbound``; these are what a person types)."""

YES = {"en": "YES", "es": "SÍ", "pl": "TAK", "zh": "同意", "ar": "نعم"}
NO = {"en": "NO", "es": "NO ACEPTO", "pl": "NIE", "zh": "不同意", "ar": "لا"}
STOP = {"en": "STOP", "es": "ALTO", "pl": "KONIEC", "zh": "退订", "ar": "توقف"}
QUESTION = {"en": "What is this about? Is it confidential?", "es": "¿De qué se trata esto?",
            "pl": "O co chodzi?", "zh": "这是关于什么的？", "ar": "ما هذا؟"}
CONFIRM = {"en": "CONFIRM", "es": "CONFIRMO", "pl": "POTWIERDZAM", "zh": "确认", "ar": "تأكيد"}
CHANGE = {"en": "CHANGE", "es": "CAMBIAR", "pl": "ZMIANA", "zh": "改期", "ar": "تغيير"}
