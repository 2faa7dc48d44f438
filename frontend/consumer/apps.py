from django.apps import AppConfig


class ConsumerWebConfig(AppConfig):
    """The consumer mobile web: talks only to the consumer API (``/graphql/``)."""

    name = "frontend.consumer"
    label = "consumer_web"
