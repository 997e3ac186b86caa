"""Every string of the party pages, in every supported language (a test proves none is missing).

Strings are plain text; ``{phone}``, ``{zone}``, ``{deadline}`` and ``{status}`` are filled in
with ``str.format`` and escaped by the template (``t.ltr`` isolates a phone number as
left-to-right). The agency is named as in the notices (``notifiers.compose.terms.AGENCY``).
"""

from __future__ import annotations

from markupsafe import Markup, escape

from cases.contacts import RTL_LANGUAGES, SUPPORTED_LANGUAGES
from notifiers.compose.terms import AGENCY
from web.pages.i18n_changes import CHANGE_STRINGS

LANGUAGES = tuple(SUPPORTED_LANGUAGES)

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "program": "Community Mediation Program",
        "language": "Language",
        "title_consent": "Invitation to mediation",
        "title_availability": "When are you free?",
        "title_booking": "Your mediation session",
        "intro_complainant": f"The {AGENCY['en']} offers you a mediation about the complaint "
                             "you made.",
        "intro_officer": f"The {AGENCY['en']} offers you a mediation about a complaint that "
                         "names you.",
        "what_title": "What is mediation?",
        "what_text": "A trained, neutral mediator helps both sides talk, be heard and understand "
                     "each other. It takes about 90 minutes, at a neutral place such as a library "
                     "or by video. Nobody has to sign an agreement.",
        "conf_title": "Confidentiality",
        "conf_text": "What is said in mediation is confidential. We keep only the date, the "
                     "place and whether the session took place — never what was said. Taking "
                     "part is voluntary, and saying no has no penalty.",
        "deadline": "Please answer by the end of {deadline}.",
        "question": "Do you agree to take part in mediation?",
        "yes": "Yes, I agree to mediation",
        "no": "No, I do not want mediation",
        "thanks_yes": "Thank you. We have recorded that you agree to mediation.",
        "thanks_no": "Thank you. We have recorded that you do not wish to take part. The "
                     "complaint goes back to the investigators.",
        "answered": "We already have your answer: {status}.",
        "status_granted": "you agreed",
        "status_declined": "you declined",
        "status_expired": "the time to answer has passed",
        "status_pending": "no answer yet",
        "next_availability": "Next: tell us when you are free",
        "closed": "This request is no longer open. If you have questions, please call us.",
        "avail_intro": "Tick every time you are usually free. Times are {zone}.",
        "morning": "Morning 9–12",
        "afternoon": "Afternoon 12–5",
        "evening": "Evening 5–8",
        "day_0": "Monday", "day_1": "Tuesday", "day_2": "Wednesday", "day_3": "Thursday",
        "day_4": "Friday", "day_5": "Saturday", "day_6": "Sunday",
        "save": "Save my times",
        "saved": "Thank you, we saved your times. We will send you the date and place.",
        "choose_one": "Please tick at least one time.",
        "when": "When",
        "where": "Where",
        "video": "By video",
        "no_session": "No session is booked yet. We will send you the date and place.",
        "cancelled": "This session was cancelled.",
        "invite": "Add to my calendar (.ics)",
        "change_title": "Need a different time?",
        "change_text": "Tell us and a staff member will contact you to find a new time.",
        "change_button": "Ask for a different time",
        "change_sent": "Thank you. A staff member will contact you about a new time.",
        "change_limit": "We already have your request and a staff member will contact you. If it "
                        "is urgent, please call {phone}.",
        "help": "Questions? Call {phone}.",
        "invalid_title": "This link does not work",
        "invalid": "The link may be mistyped or no longer valid. Please call {phone} and we "
                   "will help you.",
        "expired": "This link has expired. Please call {phone} and we will send you a new one.",
        "invite_summary": "Mediation session",
    },
    "es": {
        "program": "Programa de Mediación Comunitaria",
        "language": "Idioma",
        "title_consent": "Invitación a una mediación",
        "title_availability": "¿Cuándo está disponible?",
        "title_booking": "Su sesión de mediación",
        "intro_complainant": f"La {AGENCY['es']} le ofrece una mediación sobre la queja que "
                             "usted presentó.",
        "intro_officer": f"La {AGENCY['es']} le ofrece una mediación sobre una queja en la que "
                         "se le menciona.",
        "what_title": "¿Qué es la mediación?",
        "what_text": "Un mediador capacitado y neutral ayuda a ambas partes a hablar, ser "
                     "escuchadas y entenderse. Dura unos 90 minutos, en un lugar neutral como una "
                     "biblioteca o por video. Nadie tiene que firmar un acuerdo.",
        "conf_title": "Confidencialidad",
        "conf_text": "Lo que se dice en la mediación es confidencial. Solo guardamos la fecha, "
                     "el lugar y si la sesión se realizó, nunca lo que se dijo. Participar es "
                     "voluntario y decir que no no tiene ninguna penalidad.",
        "deadline": "Por favor responda a más tardar el {deadline}.",
        "question": "¿Acepta participar en la mediación?",
        "yes": "Sí, acepto la mediación",
        "no": "No, no quiero la mediación",
        "thanks_yes": "Gracias. Hemos registrado que acepta la mediación.",
        "thanks_no": "Gracias. Hemos registrado que no desea participar. La queja vuelve a los "
                     "investigadores.",
        "answered": "Ya tenemos su respuesta: {status}.",
        "status_granted": "aceptó",
        "status_declined": "no aceptó",
        "status_expired": "el plazo para responder terminó",
        "status_pending": "todavía sin respuesta",
        "next_availability": "Siguiente: díganos cuándo está disponible",
        "closed": "Esta solicitud ya no está abierta. Si tiene preguntas, llámenos.",
        "avail_intro": "Marque todos los horarios en que suele estar libre. Todas las horas se "
                       "indican en {zone}.",
        "morning": "Mañana 9–12",
        "afternoon": "Tarde 12–5",
        "evening": "Noche 5–8",
        "day_0": "Lunes", "day_1": "Martes", "day_2": "Miércoles", "day_3": "Jueves",
        "day_4": "Viernes", "day_5": "Sábado", "day_6": "Domingo",
        "save": "Guardar mis horarios",
        "saved": "Gracias, guardamos sus horarios. Le enviaremos la fecha y el lugar.",
        "choose_one": "Por favor marque al menos un horario.",
        "when": "Cuándo",
        "where": "Dónde",
        "video": "Por video",
        "no_session": "Todavía no hay una sesión programada. Le enviaremos la fecha y el lugar.",
        "cancelled": "Esta sesión fue cancelada.",
        "invite": "Agregar a mi calendario (.ics)",
        "change_title": "¿Necesita otro horario?",
        "change_text": "Avísenos y alguien del personal se comunicará con usted para buscar "
                       "otro horario.",
        "change_button": "Pedir otro horario",
        "change_sent": "Gracias. Alguien del personal se comunicará con usted sobre el nuevo "
                       "horario.",
        "change_limit": "Ya tenemos su solicitud y alguien del personal se comunicará con "
                        "usted. Si es urgente, llame al {phone}.",
        "help": "¿Preguntas? Llame al {phone}.",
        "invalid_title": "Este enlace no funciona",
        "invalid": "Es posible que el enlace esté mal escrito o ya no sea válido. Llame al "
                   "{phone} y le ayudaremos.",
        "expired": "Este enlace venció. Llame al {phone} y le enviaremos uno nuevo.",
        "invite_summary": "Sesión de mediación",
    },
    "pl": {
        "program": "Program Mediacji Społecznej",
        "language": "Język",
        "title_consent": "Zaproszenie na mediację",
        "title_availability": "Dogodne terminy",
        "title_booking": "Spotkanie mediacyjne",
        "intro_complainant": f"{AGENCY['pl']} proponuje mediację w sprawie złożonej skargi.",
        "intro_officer": f"{AGENCY['pl']} proponuje mediację w sprawie skargi dotyczącej "
                         "funkcjonariusza.",
        "what_title": "Czym jest mediacja?",
        "what_text": "Przeszkolony, bezstronny mediator pomaga obu stronom rozmawiać, zostać "
                     "wysłuchanym i zrozumieć się nawzajem. Trwa około 90 minut, w neutralnym "
                     "miejscu, np. w bibliotece, lub przez wideo. Nikt nie musi podpisywać "
                     "porozumienia.",
        "conf_title": "Poufność",
        "conf_text": "To, co zostanie powiedziane podczas mediacji, jest poufne. Zapisujemy "
                     "tylko datę, miejsce i to, czy sesja się odbyła — nigdy treść rozmowy. "
                     "Udział jest dobrowolny, a odmowa nie wiąże się z żadną karą.",
        "deadline": "Prosimy o odpowiedź najpóźniej {deadline}.",
        "question": "Prosimy o decyzję w sprawie udziału w mediacji.",
        "yes": "Tak, zgadzam się na mediację",
        "no": "Nie, nie chcę mediacji",
        "thanks_yes": "Dziękujemy. Zapisaliśmy zgodę na mediację.",
        "thanks_no": "Dziękujemy. Zapisaliśmy decyzję o rezygnacji z udziału. Skarga wraca do "
                     "prowadzących postępowanie.",
        "answered": "Odpowiedź została już zapisana: {status}.",
        "status_granted": "zgoda",
        "status_declined": "odmowa",
        "status_expired": "termin odpowiedzi minął",
        "status_pending": "brak odpowiedzi",
        "next_availability": "Dalej: prosimy wskazać dogodne terminy",
        "closed": "Ta prośba nie jest już aktualna. W razie pytań prosimy o telefon.",
        "avail_intro": "Prosimy zaznaczyć wszystkie pory, które zwykle są dogodne. Godziny: "
                       "{zone}.",
        "morning": "Rano 9–12",
        "afternoon": "Popołudnie 12–17",
        "evening": "Wieczór 17–20",
        "day_0": "Poniedziałek", "day_1": "Wtorek", "day_2": "Środa", "day_3": "Czwartek",
        "day_4": "Piątek", "day_5": "Sobota", "day_6": "Niedziela",
        "save": "Zapisz moje godziny",
        "saved": "Dziękujemy, zapisaliśmy godziny. Wyślemy datę i miejsce.",
        "choose_one": "Prosimy zaznaczyć co najmniej jedną porę.",
        "when": "Kiedy",
        "where": "Gdzie",
        "video": "Przez wideo",
        "no_session": "Sesja nie jest jeszcze zaplanowana. Wyślemy datę i miejsce.",
        "cancelled": "Ta sesja została odwołana.",
        "invite": "Dodaj do mojego kalendarza (.ics)",
        "change_title": "Potrzebny inny termin?",
        "change_text": "Prosimy dać znać — pracownik skontaktuje się, aby ustalić nowy termin.",
        "change_button": "Proszę o inny termin",
        "change_sent": "Dziękujemy. Pracownik skontaktuje się w sprawie nowego terminu.",
        "change_limit": "Mamy już Pana/Pani prośbę i pracownik się skontaktuje. W pilnej sprawie "
                        "prosimy dzwonić pod numer {phone}.",
        "help": "Pytania? Prosimy dzwonić pod numer {phone}.",
        "invalid_title": "Ten link nie działa",
        "invalid": "Link może być błędnie wpisany lub już nieważny. Prosimy zadzwonić pod "
                   "numer {phone}, pomożemy.",
        "expired": "Ten link wygasł. Prosimy zadzwonić pod numer {phone}, wyślemy nowy.",
        "invite_summary": "Sesja mediacyjna",
    },
    "zh": {
        "program": "社区调解项目",
        "language": "语言",
        "title_consent": "调解邀请",
        "title_availability": "您什么时候有空？",
        "title_booking": "您的调解会议",
        "intro_complainant": f"{AGENCY['zh']}就您提出的投诉为您提供调解。",
        "intro_officer": f"{AGENCY['zh']}就一项涉及您的投诉为您提供调解。",
        "what_title": "什么是调解？",
        "what_text": "一位受过培训的中立调解员帮助双方交谈、被倾听并相互理解。调解约需90分钟，"
                     "在图书馆等中立场所或通过视频进行。任何人都不必签署协议。",
        "conf_title": "保密",
        "conf_text": "调解中所说的内容是保密的。我们只保存日期、地点以及会议是否举行，"
                     "从不记录谈话内容。参与是自愿的，拒绝不会受到任何处罚。",
        "deadline": "请最晚在{deadline}当天答复。",
        "question": "您是否同意参加调解？",
        "yes": "是，我同意调解",
        "no": "不，我不想调解",
        "thanks_yes": "谢谢。我们已记录您同意调解。",
        "thanks_no": "谢谢。我们已记录您不希望参加。投诉将退回调查人员处理。",
        "answered": "我们已收到您的答复：{status}。",
        "status_granted": "您已同意",
        "status_declined": "您已拒绝",
        "status_expired": "答复期限已过",
        "status_pending": "尚未答复",
        "next_availability": "下一步：告诉我们您什么时候有空",
        "closed": "此请求已不再有效。如有疑问，请致电我们。",
        "avail_intro": "请勾选您通常有空的所有时间。时间以{zone}为准。",
        "morning": "上午 9–12点",
        "afternoon": "下午 12–5点",
        "evening": "晚上 5–8点",
        "day_0": "星期一", "day_1": "星期二", "day_2": "星期三", "day_3": "星期四",
        "day_4": "星期五", "day_5": "星期六", "day_6": "星期日",
        "save": "保存我的时间",
        "saved": "谢谢，我们已保存您的时间。我们会把日期和地点发给您。",
        "choose_one": "请至少勾选一个时间。",
        "when": "时间",
        "where": "地点",
        "video": "视频",
        "no_session": "尚未安排会议。我们会把日期和地点发给您。",
        "cancelled": "此会议已取消。",
        "invite": "添加到我的日历（.ics）",
        "change_title": "需要换个时间？",
        "change_text": "请告诉我们，工作人员会联系您另约时间。",
        "change_button": "申请更改时间",
        "change_sent": "谢谢。工作人员会就新的时间与您联系。",
        "change_limit": "我们已收到您的请求，工作人员会与您联系。如有急事，请致电 {phone}。",
        "help": "有疑问？请致电 {phone}。",
        "invalid_title": "此链接无效",
        "invalid": "链接可能输入有误或已失效。请致电 {phone}，我们会帮助您。",
        "expired": "此链接已过期。请致电 {phone}，我们会给您发送新链接。",
        "invite_summary": "调解会议",
    },
    "ar": {
        "program": "برنامج الوساطة المجتمعية",
        "language": "اللغة",
        "title_consent": "دعوة إلى الوساطة",
        "title_availability": "متى تكون متاحًا؟",
        "title_booking": "جلسة الوساطة الخاصة بك",
        "intro_complainant": f"يعرض عليك {AGENCY['ar']} وساطة بشأن الشكوى التي قدّمتها.",
        "intro_officer": f"يعرض عليك {AGENCY['ar']} وساطة بشأن شكوى تذكر اسمك.",
        "what_title": "ما هي الوساطة؟",
        "what_text": "يساعد وسيط مدرَّب ومحايد الطرفين على التحدث والاستماع وفهم بعضهما. "
                     "تستغرق نحو 90 دقيقة في مكان محايد مثل مكتبة عامة أو عبر الفيديو. "
                     "لا يُطلب من أحد توقيع اتفاق.",
        "conf_title": "السرية",
        "conf_text": "ما يُقال في الوساطة سري. نحتفظ فقط بالتاريخ والمكان وما إذا عُقدت "
                     "الجلسة، ولا نحتفظ أبدًا بما قيل. المشاركة طوعية، ولا عقوبة على الرفض.",
        "deadline": "يرجى الرد في موعد أقصاه نهاية يوم {deadline}.",
        "question": "هل توافق على المشاركة في الوساطة؟",
        "yes": "نعم، أوافق على الوساطة",
        "no": "لا، لا أريد الوساطة",
        "thanks_yes": "شكرًا لك. سجّلنا موافقتك على الوساطة.",
        "thanks_no": "شكرًا لك. سجّلنا أنك لا ترغب في المشاركة. تعود الشكوى إلى المحققين.",
        "answered": "لدينا ردك بالفعل: {status}.",
        "status_granted": "وافقت",
        "status_declined": "رفضت",
        "status_expired": "انتهت مهلة الرد",
        "status_pending": "لا يوجد رد بعد",
        "next_availability": "التالي: أخبرنا متى تكون متاحًا",
        "closed": "هذا الطلب لم يعد مفتوحًا. إذا كانت لديك أسئلة، يرجى الاتصال بنا.",
        "avail_intro": "ضع علامة على كل الأوقات التي تكون فيها متاحًا عادةً. الأوقات {zone}.",
        "morning": "صباحًا 9–12",
        "afternoon": "بعد الظهر 12–5",
        "evening": "مساءً 5–8",
        "day_0": "الاثنين", "day_1": "الثلاثاء", "day_2": "الأربعاء", "day_3": "الخميس",
        "day_4": "الجمعة", "day_5": "السبت", "day_6": "الأحد",
        "save": "احفظ أوقاتي",
        "saved": "شكرًا لك، حفظنا أوقاتك. سنرسل إليك التاريخ والمكان.",
        "choose_one": "يرجى اختيار وقت واحد على الأقل.",
        "when": "متى",
        "where": "أين",
        "video": "عبر الفيديو",
        "no_session": "لم تُحجز أي جلسة بعد. سنرسل إليك التاريخ والمكان.",
        "cancelled": "أُلغيت هذه الجلسة.",
        "invite": "أضف إلى تقويمي (.ics)",
        "change_title": "هل تحتاج إلى وقت آخر؟",
        "change_text": "أخبرنا وسيتصل بك أحد الموظفين لتحديد وقت جديد.",
        "change_button": "اطلب وقتًا آخر",
        "change_sent": "شكرًا لك. سيتصل بك أحد الموظفين بشأن وقت جديد.",
        "change_limit": "لقد تلقينا طلبك وسيتصل بك أحد الموظفين. "
                        "إذا كان الأمر عاجلًا، يرجى الاتصال بالرقم {phone}.",
        "help": "أسئلة؟ اتصل على {phone}.",
        "invalid_title": "هذا الرابط لا يعمل",
        "invalid": "ربما كُتب الرابط بشكل خاطئ أو لم يعد صالحًا. يرجى الاتصال على {phone} "
                   "وسنساعدك.",
        "expired": "انتهت صلاحية هذا الرابط. يرجى الاتصال على {phone} وسنرسل إليك رابطًا "
                   "جديدًا.",
        "invite_summary": "جلسة وساطة",
    },
}

for _language, _more in CHANGE_STRINGS.items():  # self-service words (moving, withdrawing)
    STRINGS[_language] = {**STRINGS[_language], **_more}


def pick_language(*candidates: str | None) -> str:
    """The first supported language among ``candidates`` (``?lang=``, the party's, a header)."""
    for candidate in candidates:
        if not candidate:
            continue
        code = candidate.strip().lower()[:2]
        if code in STRINGS:
            return code
    return "en"


def accept_language(header: str | None) -> str | None:
    if not header:
        return None
    for part in header.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in STRINGS:
            return code
    return None


class Strings:
    """``t("key", phone=...)`` for one language, with the page's direction."""

    def __init__(self, language: str) -> None:
        self.language = language if language in STRINGS else "en"
        self._table = STRINGS[self.language]
        self.dir = "rtl" if self.language in RTL_LANGUAGES else "ltr"

    def __call__(self, key: str, **values: object) -> str:
        text = self._table[key]
        return text.format(**values) if values else text

    def ltr(self, key: str, **values: object) -> Markup:
        """``t(key, ...)`` as HTML, each value isolated left-to-right (``<bdi dir="ltr">``), so a
        phone number inside Arabic reads '+13127463594', not '13127463594+'."""
        isolated = {name: Markup('<bdi dir="ltr">{}</bdi>').format(value)
                    for name, value in values.items()}
        return Markup(escape(self._table[key]).format(**isolated))


LANGUAGE_NAMES = SUPPORTED_LANGUAGES
