WITH `t1_events` AS (
  SELECT
    `events`.`customer_id` AS `__key`,
    DATETIME(
      MAX(CASE WHEN `events`.`name` = 'add_to_cart' THEN `events`.`occurred_at` END),
      'UTC'
    ) AS `m1_events`,
    DATETIME(MAX(CASE WHEN `events`.`name` = 'purchase' THEN `events`.`occurred_at` END), 'UTC') AS `m2_events`
  FROM `events` AS `events`
  WHERE
    `events`.`occurred_at` <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMP)
    AND (
      `events`.`name` = 'add_to_cart' OR `events`.`name` = 'purchase'
    )
  GROUP BY
    `events`.`customer_id`
  HAVING
    DATETIME(
      MAX(CASE WHEN `events`.`name` = 'add_to_cart' THEN `events`.`occurred_at` END),
      'UTC'
    ) > CAST('2025-06-01 00:00:00' AS DATETIME)
    AND (
      DATETIME(MAX(CASE WHEN `events`.`name` = 'purchase' THEN `events`.`occurred_at` END), 'UTC') IS NULL
      OR DATETIME(MAX(CASE WHEN `events`.`name` = 'purchase' THEN `events`.`occurred_at` END), 'UTC') < DATETIME(
        MAX(CASE WHEN `events`.`name` = 'add_to_cart' THEN `events`.`occurred_at` END),
        'UTC'
      )
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
