"""The party pages' words for changing a session themselves: moving it to another time, leaving
mediation, and the video link. Kept apart from :mod:`web.pages.i18n` (which merges them into its
tables) so that the self-service words can be read and reviewed in one place; the same test
proves every key is in every language.

Formal register throughout: usted, Państwo/impersonal Polish, 您, and Modern Standard Arabic.
"""

from __future__ import annotations

CHANGE_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "times_in": "Times are {zone}.",
        "video_join": "Join the video meeting",
        "video_later": "The link to the video meeting will be sent to you before the session.",
        "move_title": "Choose another time",
        "move_text": "These times suit everyone taking part. Choose one and your session moves "
                     "to it at once; everyone receives the new time.",
        "move_to": "Move to {when}",
        "move_left": "Moves left on this page: {count}.",
        "moved": "Done. Your session is now on {when}. Everyone taking part has been sent the "
                 "new time.",
        "move_changed": "Your session was changed a moment ago, so nothing else was changed. "
                        "Please check the time above.",
        "move_taken": "That time was taken a moment ago. Please choose another time.",
        "move_stale": "This page was out of date. Here it is again with the current times.",
        "move_limit": "This session has already been moved as many times as the program allows, "
                      "so it cannot be moved again on this page. A staff member can help you "
                      "find a time.",
        "move_none": "We could not find another time that suits everyone right now. A staff "
                     "member can help you find a time.",
        "withdraw_title": "Do you no longer wish to take part?",
        "withdraw_open": "Withdraw from mediation",
        "withdraw_text": "Taking part in mediation is voluntary. You may withdraw at any time "
                         "before the session, and there is no penalty for withdrawing.",
        "withdraw_next": "If you withdraw, the session is cancelled and everyone taking part is "
                         "told. The complaint goes back to COPA's investigators and continues "
                         "through the regular process.",
        "withdraw_confirm": "Yes, I withdraw from mediation",
        "withdraw_keep": "No, go back to my session",
        "withdrawn": "You have withdrawn from mediation. Thank you for letting us know. The "
                     "complaint continues through the regular process, and we have sent you a "
                     "message that says so.",
        "withdraw_closed": "This case is no longer in mediation, so there is nothing to "
                           "withdraw from. If you have questions, please call us.",
    },
    "es": {
        "times_in": "Las horas se indican en {zone}.",
        "video_join": "Entrar a la reunión por video",
        "video_later": "Le enviaremos el enlace de la reunión por video antes de la sesión.",
        "move_title": "Elegir otro horario",
        "move_text": "Estos horarios convienen a todas las personas que participan. Elija uno y "
                     "su sesión se cambia en ese momento; todos reciben el nuevo horario.",
        "move_to": "Cambiar al {when}",
        "move_left": "Cambios que aún puede hacer en esta página: {count}.",
        "moved": "Listo. Su sesión es ahora el {when}. Enviamos el nuevo horario a todas las "
                 "personas que participan.",
        "move_changed": "Su sesión se cambió hace un momento, así que no se hizo ningún otro "
                        "cambio. Por favor revise el horario de arriba.",
        "move_taken": "Ese horario se ocupó hace un momento. Por favor elija otro.",
        "move_stale": "Esta página no estaba actualizada. Aquí la tiene de nuevo con los "
                      "horarios actuales.",
        "move_limit": "Esta sesión ya se cambió tantas veces como permite el programa, así que "
                      "no se puede cambiar de nuevo en esta página. Alguien del personal puede "
                      "ayudarle a encontrar un horario.",
        "move_none": "Por ahora no encontramos otro horario que convenga a todos. Alguien del "
                     "personal puede ayudarle a encontrar un horario.",
        "withdraw_title": "¿Ya no desea participar?",
        "withdraw_open": "Retirarse de la mediación",
        "withdraw_text": "Participar en la mediación es voluntario. Puede retirarse en cualquier "
                         "momento antes de la sesión, y retirarse no tiene ninguna penalidad.",
        "withdraw_next": "Si se retira, la sesión se cancela y se avisa a todas las personas que "
                         "participan. La queja vuelve a los investigadores de COPA y sigue el "
                         "proceso habitual.",
        "withdraw_confirm": "Sí, me retiro de la mediación",
        "withdraw_keep": "No, volver a mi sesión",
        "withdrawn": "Usted se retiró de la mediación. Gracias por avisarnos. La queja sigue el "
                     "proceso habitual, y le enviamos un mensaje que lo explica.",
        "withdraw_closed": "Este caso ya no está en mediación, así que no hay nada de qué "
                           "retirarse. Si tiene preguntas, llámenos.",
    },
    "pl": {
        "times_in": "Godziny: {zone}.",
        "video_join": "Dołącz do spotkania wideo",
        "video_later": "Link do spotkania wideo zostanie przesłany przed sesją.",
        "move_title": "Wybór innego terminu",
        "move_text": "Te terminy odpowiadają wszystkim uczestnikom. Po wybraniu terminu sesja "
                     "zostanie od razu przeniesiona, a wszyscy otrzymają nowy termin.",
        "move_to": "Przenieś na {when}",
        "move_left": "Pozostała liczba zmian terminu na tej stronie: {count}.",
        "moved": "Gotowe. Sesja odbędzie się teraz: {when}. Nowy termin został wysłany "
                 "wszystkim uczestnikom.",
        "move_changed": "Sesja została przed chwilą zmieniona, więc nic więcej nie zmieniono. "
                        "Prosimy sprawdzić termin powyżej.",
        "move_taken": "Ten termin został przed chwilą zajęty. Prosimy wybrać inny.",
        "move_stale": "Ta strona była nieaktualna. Oto ona ponownie, z aktualnymi terminami.",
        "move_limit": "Ta sesja była już przenoszona tyle razy, ile pozwala program, więc nie "
                      "można jej ponownie przenieść na tej stronie. Pracownik programu pomoże "
                      "ustalić termin.",
        "move_none": "Obecnie nie ma innego terminu odpowiedniego dla wszystkich. Pracownik "
                     "programu pomoże ustalić termin.",
        "withdraw_title": "Rezygnacja z udziału",
        "withdraw_open": "Rezygnuję z mediacji",
        "withdraw_text": "Udział w mediacji jest dobrowolny. Można zrezygnować w każdej chwili "
                         "przed sesją, a rezygnacja nie wiąże się z żadną karą.",
        "withdraw_next": "Po rezygnacji sesja zostanie odwołana, a wszyscy uczestnicy zostaną o "
                         "tym powiadomieni. Skarga wraca do prowadzących postępowanie w COPA i "
                         "jest rozpatrywana w zwykłym trybie.",
        "withdraw_confirm": "Tak, rezygnuję z mediacji",
        "withdraw_keep": "Nie, wróć do strony sesji",
        "withdrawn": "Rezygnacja z mediacji została zapisana. Dziękujemy za informację. Skarga "
                     "jest rozpatrywana w zwykłym trybie; wysłaliśmy wiadomość z wyjaśnieniem.",
        "withdraw_closed": "Ta sprawa nie jest już w mediacji, więc nie ma z czego rezygnować. "
                           "W razie pytań prosimy o telefon.",
    },
    "zh": {
        "times_in": "时间均为{zone}。",
        "video_join": "加入视频会议",
        "video_later": "视频会议链接将在会议开始前发送给您。",
        "move_title": "选择其他时间",
        "move_text": "以下时间适合所有参与者。选择后，您的会议将立即改到该时间，所有人都会收到新的时间。",
        "move_to": "改到{when}",
        "move_left": "您还可以在此页面更改会议时间 {count} 次。",
        "moved": "已完成。您的会议现改为{when}。我们已将新时间发送给所有参与者。",
        "move_changed": "您的会议刚刚已被更改，因此没有再做其他更改。请查看上方的时间。",
        "move_taken": "该时间刚刚已被占用。请选择其他时间。",
        "move_stale": "此页面已过期。以下是更新后的页面和当前时间。",
        "move_limit": "此会议的改期次数已达到项目允许的上限，因此无法在此页面再次更改。"
                      "工作人员可以帮助您安排时间。",
        "move_none": "目前我们找不到适合所有人的其他时间。工作人员可以帮助您安排时间。",
        "withdraw_title": "您不想再参加了吗？",
        "withdraw_open": "退出调解",
        "withdraw_text": "参加调解完全自愿。您可以在会议开始前随时退出，退出不会受到任何处罚。",
        "withdraw_next": "如果您退出，会议将被取消，所有参与者都会收到通知。"
                         "投诉将退回 COPA 的调查人员，按常规程序继续处理。",
        "withdraw_confirm": "是的，我退出调解",
        "withdraw_keep": "不，返回我的会议",
        "withdrawn": "您已退出调解。感谢您告知我们。投诉将按常规程序继续处理，我们已向您发送了相关说明。",
        "withdraw_closed": "此案件已不在调解中，因此无需退出。如有疑问，请致电我们。",
    },
    "ar": {
        "times_in": "جميع الأوقات {zone}.",
        "video_join": "الانضمام إلى الاجتماع عبر الفيديو",
        "video_later": "سيُرسل إليكم رابط الاجتماع عبر الفيديو قبل الجلسة.",
        "move_title": "اختيار وقت آخر",
        "move_text": "هذه الأوقات تناسب جميع المشاركين. اختاروا أحدها وستُنقل جلستكم إليه فورًا، "
                     "وسيتلقى الجميع الموعد الجديد.",
        "move_to": "النقل إلى {when}",
        "move_left": "عدد التغييرات المتبقية من هذه الصفحة: {count}.",
        "moved": "تم ذلك. موعد جلستكم الآن {when}. أرسلنا الموعد الجديد إلى جميع المشاركين.",
        "move_changed": "تغيّر موعد جلستكم قبل لحظات، لذلك لم نُجرِ أي تغيير آخر. يرجى مراجعة "
                        "الموعد أعلاه.",
        "move_taken": "حُجز هذا الوقت قبل لحظات. يرجى اختيار وقت آخر.",
        "move_stale": "لم تكن هذه الصفحة محدّثة. ها هي من جديد بالأوقات الحالية.",
        "move_limit": "نُقل موعد هذه الجلسة بالعدد الأقصى الذي يسمح به البرنامج، لذلك لا يمكن "
                      "نقله مرة أخرى من هذه الصفحة. يمكن لأحد الموظفين مساعدتكم في إيجاد موعد.",
        "move_none": "لم نجد الآن وقتًا آخر يناسب الجميع. يمكن لأحد الموظفين مساعدتكم في إيجاد "
                     "موعد.",
        "withdraw_title": "ألا ترغبون في المشاركة بعد الآن؟",
        "withdraw_open": "الانسحاب من الوساطة",
        "withdraw_text": "المشاركة في الوساطة طوعية. يمكنكم الانسحاب في أي وقت قبل الجلسة، ولا "
                         "تترتب على الانسحاب أي عقوبة.",
        "withdraw_next": "إذا انسحبتم، تُلغى الجلسة ويُبلَّغ جميع المشاركين. وتعود الشكوى إلى "
                         "محققي COPA وتستمر وفق الإجراءات المعتادة.",
        "withdraw_confirm": "نعم، أنسحب من الوساطة",
        "withdraw_keep": "لا، العودة إلى جلستي",
        "withdrawn": "لقد انسحبتم من الوساطة. شكرًا لإبلاغنا. تستمر الشكوى وفق الإجراءات "
                     "المعتادة، وقد أرسلنا إليكم رسالة توضح ذلك.",
        "withdraw_closed": "لم تعد هذه القضية في مرحلة الوساطة، لذلك لا يوجد ما تنسحبون منه. إذا "
                           "كانت لديكم أسئلة، يرجى الاتصال بنا.",
    },
}
