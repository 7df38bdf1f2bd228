from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from django.db.models.signals import post_save, pre_save

        from chat.models import Message
        from chat.signals import turn_recorded

        from . import quotas, recording

        quotas.register()  # the monthly chat quotas count from the rollup

        def on_turn(sender, *, conversation, question, answer, new_conversation, **kwargs):
            recording.record_turn(
                conversation=conversation, question=question, answer=answer, new_conversation=new_conversation
            )

        def before_save(sender, instance, update_fields=None, **kwargs):
            recording.remember_rating(instance, update_fields=update_fields)

        def after_save(sender, instance, created, **kwargs):
            if not created:
                recording.record_rating_change(instance)

        turn_recorded.connect(on_turn, weak=False, dispatch_uid="analytics.record_turn")
        pre_save.connect(before_save, sender=Message, weak=False, dispatch_uid="analytics.remember_rating")
        post_save.connect(after_save, sender=Message, weak=False, dispatch_uid="analytics.record_rating")
