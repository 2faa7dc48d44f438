"""GraphQL of notifications (consumer API): the signed-in consumer's notification choices."""
