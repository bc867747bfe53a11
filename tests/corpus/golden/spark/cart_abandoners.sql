WITH `t1_events` AS (
  SELECT
    `events`.`customer_id` AS `__key`,
    CAST(FROM_UTC_TIMESTAMP(
      MAX(CASE WHEN `events`.`name` = 'add_to_cart' THEN `events`.`occurred_at` END),
      'UTC'
    ) AS TIMESTAMP_NTZ) AS `m1_events`,
    CAST(FROM_UTC_TIMESTAMP(MAX(CASE WHEN `events`.`name` = 'purchase' THEN `events`.`occurred_at` END), 'UTC') AS TIMESTAMP_NTZ) AS `m2_events`
  FROM `events` AS `events`
  WHERE
    `events`.`occurred_at` <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMP)
    AND (
      `events`.`name` = 'add_to_cart' OR `events`.`name` = 'purchase'
    )
  GROUP BY
    `events`.`customer_id`
  HAVING
    CAST(FROM_UTC_TIMESTAMP(
      MAX(CASE WHEN `events`.`name` = 'add_to_cart' THEN `events`.`occurred_at` END),
      'UTC'
    ) AS TIMESTAMP_NTZ) > CAST('2025-06-01 00:00:00' AS TIMESTAMP_NTZ)
    AND (
      CAST(FROM_UTC_TIMESTAMP(MAX(CASE WHEN `events`.`name` = 'purchase' THEN `events`.`occurred_at` END), 'UTC') AS TIMESTAMP_NTZ) IS NULL
      OR CAST(FROM_UTC_TIMESTAMP(MAX(CASE WHEN `events`.`name` = 'purchase' THEN `events`.`occurred_at` END), 'UTC') AS TIMESTAMP_NTZ) < CAST(FROM_UTC_TIMESTAMP(
        MAX(CASE WHEN `events`.`name` = 'add_to_cart' THEN `events`.`occurred_at` END),
        'UTC'
      ) AS TIMESTAMP_NTZ)
    )
), `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    `t1_events`.`m1_events` AS `m1_events`,
    `t1_events`.`m2_events` AS `m2_events`
  FROM `customers` AS `customer`
  INNER JOIN `t1_events`
    ON `t1_events`.`__key` = `customer`.`id`
  WHERE
    NOT `customer`.`id` IS NULL
    AND (
      `customer`.`signed_up_at` <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMP)
      OR `customer`.`signed_up_at` IS NULL
    )
)
SELECT DISTINCT
  `__key` AS `id`
FROM `population`
