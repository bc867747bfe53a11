WITH `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    `customer`.`email` AS `a1_email`
  FROM `customers` AS `customer`
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
WHERE
  INSTR(`a1_email`, 'mail') > 0
